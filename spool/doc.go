// Package spool is a local write-ahead file for events on their way to a
// store: the Logger's Spooled mode appends each event here before Log
// returns, so an event accepted by Log survives a crash of the process.
//
// A spool is a directory of segment files named NNNNNNNNNNNNNNNNNNNN.wal,
// written in order. Each record is framed as a 4-byte little-endian
// payload length, a 4-byte CRC-32 (Castagnoli) of the payload, then the
// payload. Reading stops at the first record that is short or fails its
// checksum: that is the torn tail of a crash, never acknowledged to a
// caller under SyncAlways, and it is ignored. A reopened spool never
// appends to an old segment; it starts a new one.
//
// A segment is deleted once every record appended to it (or replayed from
// it) has been acknowledged with Ack, that is committed to the store.
//
// This package knows nothing of events: records are opaque bytes. It
// imports only the standard library.
package spool
