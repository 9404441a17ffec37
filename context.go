package eventlog

import "context"

type userKey struct{}
type requestKey struct{}

// ContextWithUser returns a context carrying u as the acting user. Log
// uses it when the call names no user.
func ContextWithUser(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFromContext returns the user put in ctx by ContextWithUser.
func UserFromContext(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey{}).(User)
	return u, ok
}

// ContextWithRequest returns a context carrying request metadata. Log
// records it when the call gives no RequestContext.
func ContextWithRequest(ctx context.Context, rc RequestContext) context.Context {
	return context.WithValue(ctx, requestKey{}, rc)
}

// RequestFromContext returns the metadata put in ctx by ContextWithRequest.
func RequestFromContext(ctx context.Context) (RequestContext, bool) {
	rc, ok := ctx.Value(requestKey{}).(RequestContext)
	return rc, ok
}
