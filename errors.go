package eventlog

import (
	"errors"
	"fmt"
)

// Sentinel errors. Wrap them with %w and test with errors.Is.
var (
	// ErrInvalid is wrapped by every *ValidationError: the input was bad and
	// nothing was written.
	ErrInvalid = errors.New("invalid input")
	// ErrNotFound means the requested event does not exist.
	ErrNotFound = errors.New("not found")
	// ErrClosed means the Logger or Store was closed.
	ErrClosed = errors.New("eventlog: closed")
	// ErrNotSupported means the operation or URL scheme is not supported.
	ErrNotSupported = errors.New("not supported")
	// ErrSchemaTooNew means the database was migrated by a newer eventlog;
	// this version refuses to touch it.
	ErrSchemaTooNew = errors.New("database schema is newer than this eventlog")
	// ErrSchemaOutdated means the database schema is missing or older than
	// this eventlog expects; run `eventlog migrate`.
	ErrSchemaOutdated = errors.New("database schema is missing or outdated: run `eventlog migrate`")
	// ErrBufferFull is returned by an asynchronous Logger whose buffer is
	// full when its policy is to return an error.
	ErrBufferFull = errors.New("eventlog: buffer full")
)

// ValidationError describes one bad field of one event or query. Field is a
// dotted path such as "action", "user.id" or "extra"; Index is the position
// of the event in a batch, or -1 when it does not apply.
type ValidationError struct {
	Field   string
	Index   int
	Message string
}

// Error implements error.
func (e *ValidationError) Error() string {
	if e.Index >= 0 {
		return fmt.Sprintf("invalid %s (event %d): %s", e.Field, e.Index, e.Message)
	}
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Message)
}

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

func invalid(field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Index: -1, Message: fmt.Sprintf(format, args...)}
}

// AtIndex returns err with the batch index set when err is a
// *ValidationError, and err unchanged otherwise.
func AtIndex(err error, i int) error {
	var ve *ValidationError
	if errors.As(err, &ve) {
		c := *ve
		c.Index = i
		return &c
	}
	return err
}
