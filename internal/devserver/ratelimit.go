package devserver

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// rateLimiter is a per-key GCRA like tower_governor's: burst requests at
// once, then one more per period.
type rateLimiter struct {
	burst  int
	period time.Duration

	mu  sync.Mutex
	tat map[string]time.Time // theoretical arrival time per key
}

func newRateLimiter(burst int, period time.Duration) *rateLimiter {
	return &rateLimiter{burst: burst, period: period, tat: map[string]time.Time{}}
}

// allow takes one token for key. When none is left it reports how long
// until the next one.
func (l *rateLimiter) allow(key string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	tat, ok := l.tat[key]
	if !ok || tat.Before(now) {
		tat = now
	}
	tolerance := time.Duration(l.burst-1) * l.period
	if ahead := tat.Sub(now); ahead > tolerance {
		return ahead - tolerance, false
	}
	l.tat[key] = tat.Add(l.period)
	return 0, true
}

// writeTooManyRequests answers like tower_governor: plain text, whole
// seconds rounded down.
func writeTooManyRequests(w http.ResponseWriter, wait time.Duration) {
	n := strconv.FormatInt(int64(wait/time.Second), 10)
	w.Header().Set("x-ratelimit-after", n)
	w.Header().Set("retry-after", n)
	writePlain(w, http.StatusTooManyRequests, "Too Many Requests! Wait for "+n+"s")
}
