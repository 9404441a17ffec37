// Package natsqueue scales eventlog out through NATS JetStream: ingest
// nodes publish accepted events to a replicated stream and return once
// JetStream has acknowledged them; workers pull the stream in batches and
// write each batch to the store in one transaction; every node can tail
// the stream live, so a tail on any node sees events ingested on all of
// them.
//
// The pieces:
//
//   - [Config] and [EnsureStream]: the stream and consumer settings, with
//     documented defaults (stream EVENTLOG on eventlog.events.>, limits
//     retention, 7 days, 2-minute duplicate window).
//   - [Publisher]: Publish(ctx, events) returns only after JetStream
//     acknowledged every event; each message carries Nats-Msg-Id = event
//     id so a retried publish is dropped by JetStream's dedupe window.
//   - [Logger]: Log, LogEvent and LogBatch like eventlog.Logger, but the
//     event goes to the queue instead of the database, for applications
//     that hand events over without an HTTP hop.
//   - [Worker]: a durable pull consumer that stores batches with
//     eventlog.Store.Insert and acknowledges after commit. Several workers
//     share one durable consumer. A redelivered event is stored once
//     because the store skips ids it already holds.
//   - [Subscribe]: an ordered, deliver-new consumer for live tails.
//   - [Queue.IngestStore]: an eventlog.Store whose Insert publishes, so an
//     unchanged eventlog.Logger (and the HTTP API on it) ingests through
//     the queue; `eventlog serve --queue` uses it.
//   - [Queue]: Connect dials the servers, ensures the stream and hands
//     out the above with a few lines, for `eventlog serve --queue` and
//     `eventlog worker`.
//
// Delivery is at least once from the stream to the worker and exactly
// once into the store: the event id is the dedupe key end to end.
//
// This package imports the NATS client and prometheus; it must not import
// a database driver or an HTTP framework. The topology, guarantees,
// sizing and failure modes are described in docs/scaling.md.
package natsqueue
