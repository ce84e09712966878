package server

import (
	"bufio"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// metrics counts HTTP requests; engine figures are read at scrape time.
type metrics struct {
	mu       sync.Mutex
	requests map[reqKey]int64
	inflight atomic.Int64
}

type reqKey struct {
	route string
	code  int
}

func newMetrics() *metrics { return &metrics{requests: map[reqKey]int64{}} }

func (m *metrics) request(route string, code int) {
	if route == "" {
		route = "unmatched"
	}
	m.mu.Lock()
	m.requests[reqKey{route, code}]++
	m.mu.Unlock()
}

// serveMetrics writes Prometheus text exposition format 0.0.4.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	b := bufio.NewWriter(w)
	defer b.Flush()
	s.metrics.mu.Lock()
	keys := make([]reqKey, 0, len(s.metrics.requests))
	for k := range s.metrics.requests {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b reqKey) int {
		if a.route != b.route {
			if a.route < b.route {
				return -1
			}
			return 1
		}
		return a.code - b.code
	})
	fmt.Fprintln(b, "# HELP bayling_http_requests_total HTTP requests by route and status code.")
	fmt.Fprintln(b, "# TYPE bayling_http_requests_total counter")
	for _, k := range keys {
		method, route, ok := strings.Cut(k.route, " ")
		if !ok {
			method, route = "", k.route
		}
		fmt.Fprintf(b, "bayling_http_requests_total{method=%s,route=%s,code=\"%d\"} %d\n", strconv.Quote(method), strconv.Quote(route), k.code, s.metrics.requests[k])
	}
	s.metrics.mu.Unlock()
	st := s.eng.Stats()
	gauge := func(name, help string, v float64) {
		fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %g\n", name, help, name, name, v)
	}
	counter := func(name, help string, v float64) {
		fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s counter\n%s %g\n", name, help, name, name, v)
	}
	gauge("bayling_http_requests_in_flight", "HTTP requests being served.", float64(s.metrics.inflight.Load()))
	gauge("bayling_queue_depth", "Generation requests waiting for a slot.", float64(s.eng.Queued()))
	gauge("bayling_active_sequences", "Sequences holding a decoding slot.", float64(st.Active.Load()))
	gauge("bayling_slots", "Sequences decoded together at most.", float64(s.eng.Slots()))
	counter("bayling_generation_requests_total", "Generation requests accepted.", float64(st.Requests.Load()))
	counter("bayling_generation_rejected_total", "Generation requests refused because the queue was full.", float64(st.Rejected.Load()))
	counter("bayling_generation_canceled_total", "Generations dropped because the client went away.", float64(st.Canceled.Load()))
	counter("bayling_prompt_tokens_total", "Prompt tokens prefilled.", float64(st.PromptTokens.Load()))
	counter("bayling_generated_tokens_total", "Tokens generated.", float64(st.GeneratedTokens.Load()))
	counter("bayling_steps_total", "Forward steps (each decodes every running sequence and prefills prompt chunks).", float64(st.Steps.Load()))
	counter("bayling_step_tokens_total", "Tokens fed summed over steps, prefill and decode.", float64(st.StepRows.Load()))
	counter("bayling_decode_rows_total", "Decoding sequences summed over steps (decode rows / steps = mean batch).", float64(st.DecodeRows.Load()))
	counter("bayling_step_seconds_total", "Time in forward steps.", float64(st.StepNanos.Load())/1e9)
	counter("bayling_queue_wait_seconds_total", "Time requests waited for a slot, summed.", float64(st.QueueWaitNanos.Load())/1e9)
	counter("bayling_time_to_first_token_seconds_total", "Time from submission to the first token, summed over requests.", float64(st.TimeToFirstNanos.Load())/1e9)
}
