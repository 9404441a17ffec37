// Package httplog is net/http middleware that records an event when a
// handler succeeds: pinax-eventlog's EventLogMixin for Go.
//
//	m, _ := httplog.New(logger, &httplog.Options{User: currentUser})
//	mux.Handle("POST /widgets", m.Wrap(httplog.Action{Kind: "CREATE", ObjectType: "widget"}, createWidget))
//
// The event is logged after the handler returns, only when it answered
// 2xx, or 3xx to a POST (a form that redirects after success, like
// Django's form_valid); an error status or a panic logs nothing. While it
// runs, the handler names the object and extra data with SetObject and
// SetExtra, or cancels the event with Skip. The event records the request:
// client IP (X-Forwarded-For and Forwarded are believed only from
// Options.TrustedProxies), user agent, request id, W3C trace id, method and
// path.
//
// This package imports only the standard library and the root package.
package httplog
