package eventlog

// NewEvent builds an event from Log's arguments (see Logger.Log) without
// validating it or filling defaults; call Event.Normalize or
// Logger.Prepare next. Front ends other than Logger that accept the same
// arguments (the queue logger in natsqueue) use it.
func NewEvent(action string, args ...any) (Event, error) {
	var l *Logger // buildEvent reads nothing from the Logger
	return l.buildEvent(action, args)
}
