// Package keyring keeps the token cache's data key in the OS keyring through
// github.com/99designs/keyring: a cache.KeyStore, opened on first use.
//
// It is apart from package cache so that a program reading entries with
// cache.KernelKeys (the Linux front door) links no keyring library, D-Bus or
// JOSE code at all.
package keyring

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	ring "github.com/99designs/keyring"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/internal/atomicfile"
	"github.com/authos/authos-credential-helper/internal/nobus"
)

func init() {
	// keyring's init (which nobus guarded) has run: give child processes the
	// user's environment back.
	nobus.Restore()
}

// Backends this build can use on this OS, in the order auto mode tries them.
// file needs a passphrase, so auto mode takes it only when
// AUTHOS_CACHE_PASSPHRASE is set.
func CompiledBackends() []string {
	var out []string
	for _, b := range []ring.BackendType{ring.KeychainBackend, ring.WinCredBackend, ring.SecretServiceBackend, ring.KWalletBackend, ring.KeyCtlBackend, ring.PassBackend, ring.FileBackend} {
		if compiledIn(b) {
			out = append(out, string(b))
		}
	}
	return out
}

func compiledIn(b ring.BackendType) bool {
	switch b {
	case ring.KeychainBackend:
		return runtime.GOOS == "darwin" && cgoEnabled
	case ring.WinCredBackend:
		return runtime.GOOS == "windows"
	case ring.SecretServiceBackend, ring.KWalletBackend, ring.KeyCtlBackend:
		return runtime.GOOS == "linux"
	case ring.PassBackend:
		return runtime.GOOS != "windows"
	}
	return true
}

// Options say where and how the data key is kept.
type Options struct {
	// Backend is "auto" (or "") or one of CompiledBackends.
	Backend string
	// Item names the data key; derive it from the cache directory so that
	// separate XDG trees (tests, users of a shared kernel keyring) never mix.
	Item string
	// StateDir remembers auto mode's choice so the probe runs once.
	StateDir string
	// FileDir holds the file backend's encrypted items.
	FileDir string
	// Passphrase supplies the file backend's passphrase (never on stdout)
	// when AUTHOS_CACHE_PASSPHRASE does not.
	Passphrase func(prompt string) (string, error)
	// Getenv reads AUTHOS_CACHE_PASSPHRASE; nil means os.Getenv.
	Getenv func(string) string
	// ProbeTimeout bounds each auto-mode probe; default 1 s.
	ProbeTimeout time.Duration
	// KernelCache keeps the data key in the user's kernel keyring (Linux)
	// for this long after a backend read, so hits skip the backend; 0 off.
	KernelCache time.Duration
	// Warn gets one-line warnings for stderr (a damaged key); nil drops them.
	Warn func(msg string)
}

// DamagedKeyError is cache.DamagedKeyError, the KeyStore contract's damaged
// item, which Store recognises.
type DamagedKeyError = cache.DamagedKeyError

// Keyring is a cache.KeyStore on the OS keyring, opened on first use.
type Keyring struct {
	opts Options
	// kernelKeys decides, before a backend is open, which backend is likely and
	// whether a kernel copy can exist: the same code as the front door's.
	kernelKeys *cache.KernelKeys
	// Tests replace how backends are listed and opened.
	candidates func() []string
	openFn     func(name string) (ring.Keyring, error)
	kernelGet  func(cache.KernelCopy) []byte

	once    sync.Once
	ring    ring.Keyring
	backend string
	err     error

	passMu sync.Mutex
	pass   string // asked once per process

	warnOnce sync.Once
}

// New returns a KeyStore that opens its backend lazily, so commands that
// find no cache entry never touch the keyring.
func New(opts Options) *Keyring {
	k := &Keyring{opts: opts, kernelKeys: &cache.KernelKeys{
		Backend: opts.Backend, StateDir: opts.StateDir, Item: opts.Item, CopyTTL: opts.KernelCache,
	}}
	k.candidates, k.openFn, k.kernelGet = k.autoCandidates, k.openOne, cache.KernelCopy.Get
	return k
}

// Name is the backend in use ("" before first use).
func (k *Keyring) Name() string {
	if k.backend == "" {
		return k.opts.Backend
	}
	return k.backend
}

// Backend opens the keyring if needed and names the backend chosen.
func (k *Keyring) Backend() (string, error) {
	k.once.Do(k.open)
	return k.backend, k.err
}

// kernel is the short-lived copy of the data key in front of the backend
// (off when the backend is the kernel keyring itself).
func (k *Keyring) kernel() cache.KernelCopy { return k.kernelKeys.CopyFor(k.likely()) }

// HasKernelCopy reports whether the kernel keyring holds the short-lived
// copy of the data key now (for doctor; reading entries puts one there).
func (k *Keyring) HasKernelCopy() bool { return k.kernel().Get() != nil }

// likely is the backend in use, or auto mode's remembered choice before
// the keyring is opened.
func (k *Keyring) likely() string {
	if k.backend != "" {
		return k.backend
	}
	return k.kernelKeys.Likely()
}

// Load returns the data key: from the kernel cache when it holds it (no
// backend is opened then), else from the backend.
func (k *Keyring) Load() ([]byte, error) {
	if key := k.kernelGet(k.kernel()); key != nil {
		return key, nil
	}
	if _, err := k.Backend(); err != nil {
		return nil, err
	}
	it, err := k.ring.Get(k.opts.Item)
	if errors.Is(err, ring.ErrKeyNotFound) {
		return nil, cache.ErrMiss
	}
	if err != nil && k.backend == string(ring.FileBackend) {
		if err = k.fileItemError(err); !errors.As(err, new(*passphraseError)) {
			var dk *DamagedKeyError
			if errors.As(err, &dk) {
				k.warnDamaged(dk)
			}
			return nil, err // names the file already
		}
	}
	if err != nil {
		return nil, fmt.Errorf("reading the cache key from the %s keyring: %w", k.backend, err)
	}
	key, err := base64.StdEncoding.DecodeString(string(it.Data))
	if err != nil || len(key) != 32 {
		dk := &DamagedKeyError{Where: k.where(), Why: "not a 32-byte key"}
		k.warnDamaged(dk)
		return nil, dk
	}
	if k.backend != string(ring.KeyCtlBackend) {
		k.kernel().Put(key)
	}
	return key, nil
}

// where names the data key item for messages.
func (k *Keyring) where() string {
	if k.backend == string(ring.FileBackend) {
		return k.itemPath()
	}
	return fmt.Sprintf("%q in the %s keyring", k.opts.Item, k.backend)
}

// itemPath is the file backend's file for the data key (keyring escapes
// only '%' and '/', which item names never contain).
func (k *Keyring) itemPath() string { return filepath.Join(k.opts.FileDir, k.opts.Item) }

func (k *Keyring) warnDamaged(dk *DamagedKeyError) {
	if k.opts.Warn == nil {
		return
	}
	k.warnOnce.Do(func() {
		k.opts.Warn(dk.Error() + "; a new key replaces it when the cache is next written, and what was sealed under the old one can no longer be read (see status)")
	})
}

// fileItemError tells why the file backend could not read the data key:
// a file that is not a whole JWE was damaged (keyring v1.2.2 writes items
// in place, so a crash can leave it empty or cut short), one that is whole
// but does not unwrap was sealed with another passphrase. Anything else is
// returned as is, naming the file: only a damaged key is ever replaced.
func (k *Keyring) fileItemError(err error) error {
	var pe *passphraseError
	if errors.As(err, &pe) {
		return err // no passphrase to try: nothing is known about the file
	}
	path := k.itemPath()
	raw, rerr := os.ReadFile(path)
	if rerr != nil {
		return fmt.Errorf("reading the cache key %s: %w", path, err)
	}
	if why := jweDamage(raw); why != "" {
		return &DamagedKeyError{Where: path, Why: why}
	}
	if strings.Contains(err.Error(), "KeyUnwrap") {
		return fmt.Errorf("wrong passphrase for the file keyring at %s", path)
	}
	return fmt.Errorf("the cache key %s does not decrypt (wrong passphrase, or damaged): %w", path, err)
}

// jweDamage says what is wrong with a file backend item that is not the
// compact JWE keyring v1.2.2 writes (PBES2-HS256+A128KW wrapping an A256GCM
// key), or "" when it has that shape.
func jweDamage(raw []byte) string {
	raw = bytes.TrimSpace(raw) // whitespace alone is no sign of damage
	if len(raw) == 0 {
		return "empty file"
	}
	parts := strings.Split(string(raw), ".")
	if len(parts) != 5 {
		return "truncated or not a keyring item"
	}
	var dec [5][]byte
	for i, p := range parts {
		b, err := base64.RawURLEncoding.DecodeString(p)
		if err != nil {
			return "truncated or not a keyring item"
		}
		dec[i] = b
	}
	var hdr struct {
		Alg string `json:"alg"`
		Enc string `json:"enc"`
	}
	if json.Unmarshal(dec[0], &hdr) != nil || hdr.Alg == "" || hdr.Enc == "" {
		return "truncated or not a keyring item"
	}
	if len(dec[1]) != 40 || len(dec[2]) != 12 || len(dec[3]) == 0 || len(dec[4]) != 16 {
		return "truncated or not a keyring item"
	}
	return ""
}

// Save stores the data key. The file backend writes items in place
// (O_TRUNC, then write), so there the key is written under a temp item name,
// synced, and renamed over the old file: a crash leaves the old key or the
// new one, never half of one. The caller holds the store's key lock.
func (k *Keyring) Save(key []byte) error {
	if _, err := k.Backend(); err != nil {
		return err
	}
	item := ring.Item{
		Key:         k.opts.Item,
		Data:        []byte(base64.StdEncoding.EncodeToString(key)),
		Label:       "authos-credential-helper cache key",
		Description: "encrypts the AuthOS token cache",
	}
	var err error
	if k.backend == string(ring.FileBackend) {
		err = k.saveFileAtomic(item)
	} else {
		err = k.ring.Set(item)
	}
	if err == nil && k.backend != string(ring.KeyCtlBackend) {
		k.kernel().Put(key)
	}
	return err
}

func (k *Keyring) saveFileAtomic(item ring.Item) error {
	final := k.itemPath()
	item.Key += ".new"
	tmp := final + ".new"
	if err := k.ring.Set(item); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err != nil {
		return fmt.Errorf("writing the cache key: %w", err)
	}
	serr := f.Sync()
	f.Close()
	if serr != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing the cache key %s: %w", tmp, serr)
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing the cache key: %w", err)
	}
	atomicfile.SyncDir(k.opts.FileDir)
	return nil
}

// Volatile reports whether the data key lives where a reboot loses it
// (the kernel keyring backend).
func (k *Keyring) Volatile() (bool, error) {
	name, err := k.Backend()
	return name == string(ring.KeyCtlBackend), err
}

// ForgetKernel removes the helper's keys from the kernel keyring: the data
// key's kernel copy always and, when removeKey and the backend is the
// kernel keyring itself, the data key (call it only when nothing sealed
// under it is left).
func (k *Keyring) ForgetKernel(removeKey bool) error {
	k.kernel().Drop()
	if !removeKey {
		return nil
	}
	volatile, err := k.Volatile()
	if err != nil || !volatile {
		return err
	}
	return k.Remove()
}

// Remove deletes the data key and its kernel copy; every entry sealed
// under it becomes unreadable.
func (k *Keyring) Remove() error {
	k.kernel().Drop()
	if _, err := k.Backend(); err != nil {
		return err
	}
	err := k.ring.Remove(k.opts.Item)
	if errors.Is(err, ring.ErrKeyNotFound) {
		return nil
	}
	return err
}

func (k *Keyring) open() {
	want := strings.ToLower(strings.TrimSpace(k.opts.Backend))
	if want == "" || want == "auto" {
		k.ring, k.backend, k.err = k.openAuto()
		return
	}
	if !slices.Contains(CompiledBackends(), want) {
		k.err = fmt.Errorf("cache backend %q is not available in this build (have: auto, %s)", want, strings.Join(CompiledBackends(), ", "))
		return
	}
	k.backend = want
	k.ring, k.err = k.openFn(want)
	if k.err != nil {
		k.err = fmt.Errorf("opening the %s keyring: %w%s", want, k.err, fixFor(want))
	}
}

// openAuto uses the remembered backend if it still opens, else probes the
// candidates in order, each bounded by ProbeTimeout, and remembers the winner.
func (k *Keyring) openAuto() (ring.Keyring, string, error) {
	if name := k.kernelKeys.Remembered(); name != "" {
		if slices.Contains(k.candidates(), name) {
			if r, err := k.openFn(name); err == nil {
				return r, name, nil
			}
		}
	}
	var tried []string
	for _, name := range k.candidates() {
		r, err := k.probe(name)
		if err != nil {
			tried = append(tried, name+": "+oneLine(err.Error()))
			continue
		}
		k.kernelKeys.Remember(name) // best effort: the next process probes again

		return r, name, nil
	}
	detail := ""
	if len(tried) > 0 {
		detail = " (" + strings.Join(tried, "; ") + ")"
	}
	return nil, "", fmt.Errorf("no usable keyring for the token cache%s; fix: %s; the cache never falls back to plaintext", detail, noBackendFix(runtime.GOOS, cgoEnabled))
}

func (k *Keyring) autoCandidates() []string {
	registered := ring.AvailableBackends()
	var out []string
	for _, b := range []ring.BackendType{ring.KeychainBackend, ring.WinCredBackend, ring.SecretServiceBackend, ring.KeyCtlBackend} {
		if slices.Contains(registered, b) {
			out = append(out, string(b))
		}
	}
	if k.getenv("AUTHOS_CACHE_PASSPHRASE") != "" {
		out = append(out, string(ring.FileBackend))
	}
	return out
}

// probe opens a backend and reads the data key (or finds it absent) within
// the timeout: D-Bus activation and invisible unlock prompts can hang for
// minutes, so a probe that does not answer in time counts as a failure.
func (k *Keyring) probe(name string) (ring.Keyring, error) {
	timeout := k.opts.ProbeTimeout
	if timeout <= 0 {
		timeout = time.Second
	}
	type result struct {
		r   ring.Keyring
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := k.openFn(name)
		if err == nil {
			if _, gerr := r.Get(k.opts.Item); gerr != nil && !errors.Is(gerr, ring.ErrKeyNotFound) {
				err = gerr
				if name == string(ring.FileBackend) {
					// The backend works; Load reports the damaged item
					// or the wrong passphrase.
					err = nil
				}
			}
		}
		done <- result{r, err}
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case res := <-done:
		return res.r, res.err
	case <-t.C:
		return nil, fmt.Errorf("no answer within %v", timeout)
	}
}

func (k *Keyring) openOne(name string) (ring.Keyring, error) {
	cfg := ring.Config{
		AllowedBackends: []ring.BackendType{ring.BackendType(name)},
		ServiceName:     cache.ServiceName,
		// A new collection would need a GUI prompt to create; "login" exists.
		LibSecretCollectionName: "login",
		KeyCtlScope:             "user",
		KeyCtlPerm:              cache.KernelKeyPerm,
		FileDir:                 k.opts.FileDir,
		FilePasswordFunc:        k.passphrase,
		// Never keyring.TerminalPrompt: it prints on stdout.
		KeychainPasswordFunc:     k.passphrase,
		KeychainTrustApplication: true,
		KWalletAppID:             cache.ServiceName,
		KWalletFolder:            cache.ServiceName,
		PassPrefix:               cache.ServiceName,
		WinCredPrefix:            cache.ServiceName,
	}
	if name == string(ring.FileBackend) && k.opts.FileDir != "" {
		if err := atomicfile.PrivateDir(k.opts.FileDir); err != nil {
			return nil, err
		}
	}
	return ring.Open(cfg)
}

// Ready opens the backend and, for the file backend, gets the passphrase
// now: before a sign-in, not after the person has finished it.
func (k *Keyring) Ready() error {
	if k.kernelGet(k.kernel()) != nil {
		return nil // the key is at hand: no passphrase needed
	}
	name, err := k.Backend()
	if err != nil {
		return err
	}
	if name == string(ring.FileBackend) {
		_, err = k.passphrase(fmt.Sprintf("Passphrase for the token cache in %s", k.opts.FileDir))
	}
	return err
}

func (k *Keyring) getenv(name string) string {
	if k.opts.Getenv != nil {
		return k.opts.Getenv(name)
	}
	return os.Getenv(name)
}

func (k *Keyring) passphrase(prompt string) (string, error) {
	if p := k.getenv("AUTHOS_CACHE_PASSPHRASE"); p != "" {
		return p, nil
	}
	k.passMu.Lock()
	defer k.passMu.Unlock()
	if k.pass != "" {
		return k.pass, nil
	}
	if k.opts.Passphrase == nil {
		return "", &passphraseError{errors.New("the file cache backend needs a passphrase: set AUTHOS_CACHE_PASSPHRASE")}
	}
	p, err := k.opts.Passphrase(prompt)
	if err == nil && p == "" {
		err = errors.New("empty passphrase")
	}
	if err != nil {
		return "", &passphraseError{err}
	}
	k.pass = p
	return p, nil
}

// passphraseError is a failure to get the passphrase (not a wrong one).
type passphraseError struct{ err error }

func (e *passphraseError) Error() string { return e.err.Error() }
func (e *passphraseError) Unwrap() error { return e.err }

func fixFor(backend string) string {
	switch backend {
	case "secret-service":
		return "; fix: run a Secret Service (e.g. gnome-keyring) with an unlocked \"login\" collection, or choose another cache backend"
	case "file":
		return "; fix: set AUTHOS_CACHE_PASSPHRASE or run from a terminal"
	case "keyctl":
		return "; fix: the kernel keyring is blocked here (containers often block it); choose another cache backend"
	case "pass":
		return "; fix: install pass and run `pass init <gpg-id>`"
	}
	return ""
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// noBackendFix is what to do when auto mode finds no backend. A macOS
// build without cgo (the cross-built release) has no Keychain at all, which
// the person should hear rather than advice for Linux desktops.
func noBackendFix(goos string, cgo bool) string {
	switch {
	case goos == "darwin" && !cgo:
		return "this build has no macOS Keychain (built without cgo): set AUTHOS_CACHE_BACKEND=file and AUTHOS_CACHE_PASSPHRASE, or backend = \"pass\", or build on this Mac with ./install.sh or go install for the Keychain"
	case goos == "darwin", goos == "windows":
		return "set AUTHOS_CACHE_BACKEND=file and AUTHOS_CACHE_PASSPHRASE"
	}
	return "start a Secret Service such as gnome-keyring, or set AUTHOS_CACHE_BACKEND=file and AUTHOS_CACHE_PASSPHRASE"
}
