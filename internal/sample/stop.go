package sample

import "strings"

// StopMatcher watches streamed text for stop strings. Text that could be
// the start of a stop string is held back until it is known not to be, so
// a client never sees part of a stop string.
type StopMatcher struct {
	stops []string
	held  string
	done  bool
}

// NewStopMatcher matches the given stop strings; empty ones are ignored.
func NewStopMatcher(stops []string) *StopMatcher {
	m := &StopMatcher{}
	for _, s := range stops {
		if s != "" {
			m.stops = append(m.stops, s)
		}
	}
	return m
}

// Push adds a chunk of generated text. It returns the text that is safe to
// emit and whether a stop string was completed; then the emitted text ends
// just before the stop string and further pushes return nothing.
func (m *StopMatcher) Push(chunk string) (emit string, stopped bool) {
	if m.done {
		return "", true
	}
	buf := m.held + chunk
	if i := m.firstStop(buf); i >= 0 {
		m.held, m.done = "", true
		return buf[:i], true
	}
	keep := m.partialSuffix(buf)
	m.held = buf[len(buf)-keep:]
	return buf[:len(buf)-keep], false
}

// Flush returns the held-back text once generation ended without a stop.
func (m *StopMatcher) Flush() string {
	h := m.held
	m.held = ""
	return h
}

// Stopped reports whether a stop string has been seen.
func (m *StopMatcher) Stopped() bool { return m.done }

// firstStop is the earliest index at which any stop string starts in s.
func (m *StopMatcher) firstStop(s string) int {
	first := -1
	for _, st := range m.stops {
		if i := strings.Index(s, st); i >= 0 && (first < 0 || i < first) {
			first = i
		}
	}
	return first
}

// partialSuffix is the length of the longest suffix of s that is a proper
// prefix of some stop string.
func (m *StopMatcher) partialSuffix(s string) int {
	best := 0
	for _, st := range m.stops {
		for k := min(len(st)-1, len(s)); k > best; k-- {
			if strings.HasSuffix(s, st[:k]) {
				best = k
				break
			}
		}
	}
	return best
}
