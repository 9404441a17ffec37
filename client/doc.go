// Package client is the Go client of eventlog's HTTP API (package api,
// `eventlog serve`): Log and LogBatch to ingest, Get, Query, Actions,
// Stats and Series to read.
//
// A Go service that wants the same eventlog.Logger it would use locally,
// but writing to a remote server, wraps the client's Store:
//
//	c := client.New("https://events.example.com", token, nil)
//	logger, _ := eventlog.New(c.Store(), nil)
//
// The Logger then validates locally and group-commits concurrent Log
// calls into one POST.
//
// Errors from the server are *Error, which mirrors the API's error body
// and matches eventlog.ErrInvalid and eventlog.ErrNotFound with errors.Is.
// This package imports no server code.
package client
