package httplog

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/eventlog/eventlog"
)

// requestContext collects the request metadata recorded with the event.
func (m *Middleware) requestContext(r *http.Request) eventlog.RequestContext {
	return eventlog.RequestContext{
		IP:        m.ClientIP(r),
		UserAgent: clip(r.UserAgent(), eventlog.MaxFieldLen),
		RequestID: m.requestID(r),
		TraceID:   TraceID(r.Header.Get("Traceparent")),
		Method:    r.Method,
		Path:      clip(r.URL.Path, eventlog.MaxFieldLen),
	}
}

// clip keeps s within n bytes without splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && s[len(s)-1]&0xC0 == 0x80 {
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] >= 0xC0 {
		s = s[:len(s)-1]
	}
	return s
}

func (m *Middleware) requestID(r *http.Request) string {
	id := r.Header.Get(m.idHeader)
	if id == "" || len(id) > 128 {
		return eventlog.NewID()
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f {
			return eventlog.NewID()
		}
	}
	return id
}

// ClientIP returns the address of the client that made r. Forwarding
// headers are believed only from trusted proxies: the chain of hops
// (Forwarded, or else X-Forwarded-For, then the peer) is walked from the
// right, and the first hop that is not a trusted proxy is the client.
func (m *Middleware) ClientIP(r *http.Request) string {
	peer, ok := parseHop(r.RemoteAddr)
	if !ok {
		return ""
	}
	if !m.isTrusted(peer) {
		return peer.String()
	}
	hops := forwardedFor(r.Header)
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := parseHop(hops[i])
		if !ok {
			// A hop a trusted proxy could not make sense of: the last
			// address we can vouch for is the best answer.
			break
		}
		client = hop
		if !m.isTrusted(hop) {
			break
		}
	}
	return client.String()
}

func (m *Middleware) isTrusted(a netip.Addr) bool {
	for _, p := range m.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedFor returns the client chain from the Forwarded header (RFC
// 7239), or from X-Forwarded-For when there is none, leftmost first.
func forwardedFor(h http.Header) []string {
	var hops []string
	if fwd := h.Values("Forwarded"); len(fwd) > 0 {
		for _, line := range fwd {
			for elem := range strings.SplitSeq(line, ",") {
				hop := ""
				for pair := range strings.SplitSeq(elem, ";") {
					k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
					if ok && strings.EqualFold(k, "for") {
						hop = strings.Trim(v, `"`)
					}
				}
				hops = append(hops, hop)
			}
		}
		return hops
	}
	for _, line := range h.Values("X-Forwarded-For") {
		for hop := range strings.SplitSeq(line, ",") {
			hops = append(hops, strings.TrimSpace(hop))
		}
	}
	return hops
}

// parseHop reads an address with or without a port, IPv6 possibly in
// brackets.
func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			return a.Unmap(), true
		}
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

// TraceID returns the trace id of a W3C traceparent header value
// ("00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>"), or "" when
// the value is missing or malformed.
func TraceID(traceparent string) string {
	parts := strings.Split(strings.TrimSpace(traceparent), "-")
	if len(parts) < 4 {
		return ""
	}
	version, trace, parent, flags := parts[0], parts[1], parts[2], parts[3]
	if !isLowerHex(version, 2) || version == "ff" || (version == "00" && len(parts) != 4) {
		return ""
	}
	if !isLowerHex(trace, 32) || !isLowerHex(parent, 16) || !isLowerHex(flags, 2) {
		return ""
	}
	if trace == strings.Repeat("0", 32) || parent == strings.Repeat("0", 16) {
		return ""
	}
	return trace
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
