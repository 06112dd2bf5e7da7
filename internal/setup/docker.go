package setup

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"sort"
	"strings"
)

// dockerState is what undo needs to know about one config.json.
type dockerState struct {
	Created            bool              `json:"created,omitempty"`              // setup created the file
	CreatedCredHelpers bool              `json:"created_cred_helpers,omitempty"` // and the credHelpers object
	Prev               map[string]string `json:"prev,omitempty"`                 // registry -> helper replaced with --force
	CredsStoreSet      bool              `json:"creds_store_set,omitempty"`
	PrevCredsStore     json.RawMessage   `json:"prev_creds_store,omitempty"` // nil: there was none
}

func (s dockerState) empty() bool {
	return !s.Created && !s.CreatedCredHelpers && len(s.Prev) == 0 && !s.CredsStoreSet
}

// dockerConfigFile is $DOCKER_CONFIG/config.json or ~/.docker/config.json.
func (r *run) dockerConfigFile() string {
	if d := r.Getenv("DOCKER_CONFIG"); d != "" {
		return filepath.Join(r.expand(d), "config.json")
	}
	return filepath.Join(r.home, ".docker", "config.json")
}

const ourHelperJSON = `"` + HelperName + `"`

// dockerIn is what the docker plan is made from.
type dockerIn struct {
	path       string
	orig       []byte
	existed    bool
	st         dockerState
	regs       []string
	credsStore bool
}

func (r *run) dockerPlan() (plan, error) {
	in := dockerIn{path: r.dockerConfigFile(), regs: nonEmpty(r.prof.Docker), credsStore: r.CredsStore}
	var err error
	if in.orig, in.existed, err = readFile(in.path); err != nil {
		return nil, err
	}
	r.state.get("docker|"+in.path, &in.st)
	return planDocker(r.planOpts(), in)
}

// planDocker edits config.json's credHelpers (and credsStore) for in.regs.
func planDocker(p planOpts, in dockerIn) (plan, error) {
	b := in.orig
	if len(bytes.TrimSpace(b)) == 0 {
		if p.undo {
			return nil, nil
		}
		b = []byte("{}\n")
	}
	top, err := parseTopObject(b)
	if err != nil {
		return nil, fmt.Errorf("setup docker: %s is not valid JSON (%v); fix it first", in.path, err)
	}
	if p.undo {
		return undoDocker(p, in)
	}
	return setDocker(p, in, b, jsonUnit(b, top))
}

// credHelpers finds the credHelpers object in b; ci < 0: there is none.
func credHelpers(b []byte, where string) (top, ch jsonObject, ci int, err error) {
	top, err = parseTopObject(b)
	if err != nil {
		return top, jsonObject{}, -1, err
	}
	i := top.find("credHelpers")
	if i < 0 {
		return top, jsonObject{}, -1, nil
	}
	if bytes.Equal(top.members[i].raw, []byte("null")) {
		return top, jsonObject{}, -1, fmt.Errorf("setup docker: credHelpers is null %s; remove that key or make it {}", where)
	}
	ch, err = scanObject(b, top.members[i].vStart)
	if err != nil {
		return top, ch, i, fmt.Errorf("setup docker: credHelpers is not an object %s", where)
	}
	return top, ch, i, nil
}

// undoDocker puts back what setDocker replaced and removes what it added.
func undoDocker(p planOpts, in dockerIn) (plan, error) {
	b, st, regs, where, stKey := in.orig, in.st, in.regs, p.where(in.path), "docker|"+in.path
	st.Prev = maps.Clone(st.Prev) // the plan's to change, not in's
	var pl plan
	for _, reg := range regs {
		_, ch, ci, err := credHelpers(b, where)
		if err != nil {
			return nil, err
		}
		if ci < 0 {
			break
		}
		j := ch.find(reg)
		if j < 0 || string(ch.members[j].raw) != ourHelperJSON {
			continue
		}
		if prev, ok := st.Prev[reg]; ok {
			b = replaceValue(b, ch, j, jsonString(prev))
			delete(st.Prev, reg)
			pl.say("restored", "credHelpers[%q] = %q %s", reg, prev, where)
		} else {
			b = removeMember(b, ch, j)
			pl.say("removed", "credHelpers[%q] = %q %s", reg, HelperName, where)
		}
	}
	if top, ch, ci, err := credHelpers(b, where); err == nil && ci >= 0 && len(ch.members) == 0 && st.CreatedCredHelpers {
		b = removeMember(b, top, ci)
		st.CreatedCredHelpers = false
	} else if ci < 0 {
		st.CreatedCredHelpers = false
	}
	if top, _ := parseTopObject(b); st.CredsStoreSet {
		if i := top.find("credsStore"); i >= 0 && string(top.members[i].raw) == ourHelperJSON {
			if st.PrevCredsStore != nil {
				b = replaceValue(b, top, i, string(st.PrevCredsStore))
				pl.say("restored", "credsStore = %s %s", st.PrevCredsStore, where)
			} else {
				b = removeMember(b, top, i)
				pl.say("removed", "credsStore = %q %s", HelperName, where)
			}
		}
		st.CredsStoreSet, st.PrevCredsStore = false, nil
	}
	top, _ := parseTopObject(b)
	pl.finishUndo(p.home, in.path, b, in.orig, len(top.members) == 0, &st.Created, stKey, &st)
	return pl, nil
}

// setDocker names us in credHelpers for each registry (replacing another
// helper only with --force) and, with --creds-store, in credsStore; b is
// the file, "{}" when it was empty.
func setDocker(p planOpts, in dockerIn, b []byte, unit string) (plan, error) {
	path, orig, st, regs := in.path, in.orig, in.st, in.regs
	where, stKey := p.where(path), "docker|"+path
	var pl plan
	// Refuse before changing anything.
	_, ch, ci, err := credHelpers(b, where)
	if err != nil {
		return nil, err
	}
	if ci >= 0 && !p.force {
		var foreign []string
		for _, reg := range regs {
			if j := ch.find(reg); j >= 0 && string(ch.members[j].raw) != ourHelperJSON {
				foreign = append(foreign, fmt.Sprintf("%q uses %s", reg, ch.members[j].raw))
			}
		}
		if len(foreign) > 0 {
			return nil, fmt.Errorf("setup docker: credHelpers %s %s: pass --force to replace (undo puts it back)", strings.Join(foreign, ", "), where)
		}
	}

	newSt := st
	newSt.Prev = maps.Clone(st.Prev) // the plan's to change, not in's
	if !in.existed {
		newSt.Created = true
	}
	for _, reg := range regs {
		top, ch, ci, err := credHelpers(b, where)
		if err != nil {
			return nil, err
		}
		if ci < 0 {
			obj := []byte("{}")
			o, _ := scanObject(obj, 0)
			obj = insertMember(obj, o, reg, ourHelperJSON, 1, unit)
			b = insertMember(b, top, "credHelpers", string(obj), 0, unit)
			newSt.CreatedCredHelpers = true
			pl.say("set", "credHelpers[%q] = %q %s", reg, HelperName, where)
			continue
		}
		j := ch.find(reg)
		switch {
		case j < 0:
			b = insertMember(b, ch, reg, ourHelperJSON, 1, unit)
		case string(ch.members[j].raw) == ourHelperJSON:
			continue
		default:
			var prev string
			if err := json.Unmarshal(ch.members[j].raw, &prev); err != nil {
				return nil, fmt.Errorf("setup docker: credHelpers[%q] is not a string %s", reg, where)
			}
			if newSt.Prev == nil {
				newSt.Prev = map[string]string{}
			}
			newSt.Prev[reg] = prev
			b = replaceValue(b, ch, j, ourHelperJSON)
			pl.say("replaced", "credHelpers[%q] = %q (was %q) %s", reg, HelperName, prev, where)
			continue
		}
		pl.say("set", "credHelpers[%q] = %q %s", reg, HelperName, where)
	}
	if in.credsStore {
		top, _ := parseTopObject(b)
		i := top.find("credsStore")
		switch {
		case i < 0:
			b = insertMember(b, top, "credsStore", ourHelperJSON, 0, unit)
			newSt.CredsStoreSet, newSt.PrevCredsStore = true, nil
			pl.say("set", "credsStore = %q, the default for every registry %s", HelperName, where)
		case string(top.members[i].raw) != ourHelperJSON:
			newSt.CredsStoreSet, newSt.PrevCredsStore = true, append(json.RawMessage(nil), top.members[i].raw...)
			b = replaceValue(b, top, i, ourHelperJSON)
			pl.say("replaced", "credsStore = %q (was %s), the default for every registry %s", HelperName, top.members[i].raw, where)
		}
	}
	if bytes.Equal(b, orig) {
		return pl, nil
	}
	if err := validateDocker(b, regs); err != nil {
		return nil, fmt.Errorf("setup docker: internal error, not writing %s: %w", path, err)
	}
	return append(pl, change{act: actWrite, path: path, data: b, stateKey: stKey, state: newSt}), nil
}

// validateDocker checks the edited file decodes and names us for regs.
func validateDocker(b []byte, regs []string) error {
	var cfg struct {
		CredHelpers map[string]string `json:"credHelpers"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return err
	}
	var missing []string
	for _, reg := range regs {
		if cfg.CredHelpers[reg] != HelperName {
			missing = append(missing, reg)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		return fmt.Errorf("credHelpers lacks %s", strings.Join(missing, ", "))
	}
	return nil
}
