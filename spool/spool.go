package spool

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SyncPolicy says when appended records are forced to stable storage with
// fsync. Every Append is written to the operating system before it
// returns, so a killed process never loses a record; the policy matters
// only for a crash of the machine.
type SyncPolicy int

const (
	// SyncAlways fsyncs before Append returns: an appended record survives
	// a power loss. It is the slowest.
	SyncAlways SyncPolicy = iota
	// SyncInterval fsyncs in the background every Options.SyncInterval: a
	// power loss may lose the records of the last interval.
	SyncInterval
	// SyncNever leaves flushing to the operating system.
	SyncNever
)

// String returns the policy's name.
func (p SyncPolicy) String() string {
	switch p {
	case SyncAlways:
		return "always"
	case SyncInterval:
		return "interval"
	case SyncNever:
		return "never"
	}
	return "SyncPolicy(" + strconv.Itoa(int(p)) + ")"
}

// ErrFull is returned by Append when the spool holds MaxBytes already.
var ErrFull = errors.New("spool: full")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("spool: closed")

// Options configure a spool. The zero value is valid.
type Options struct {
	// Sync is the fsync policy. Defaults to SyncAlways.
	Sync SyncPolicy
	// SyncInterval is the fsync period of SyncInterval. Defaults to 100ms.
	SyncInterval time.Duration
	// SegmentBytes is the size at which a segment is closed and a new one
	// started; smaller segments free disk sooner. Defaults to 4 MiB.
	SegmentBytes int64
	// MaxBytes caps the total size of the spool's files; Append returns
	// ErrFull rather than exceed it. Defaults to 1 GiB.
	MaxBytes int64
}

const (
	headerLen   = 8
	maxRecord   = 16 << 20
	segmentExt  = ".wal"
	defaultSeg  = 4 << 20
	defaultMax  = 1 << 30
	defaultSync = 100 * time.Millisecond
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Pos is where a record lives: its segment and byte offset. Ack takes it.
type Pos struct {
	Segment uint64
	Offset  int64
}

type segment struct {
	size     int64
	appended int64 // records written or replayed
	acked    int64
}

// Spool is a directory of segment files. It is safe for concurrent use.
type Spool struct {
	dir  string
	opts Options

	mu       sync.Mutex
	room     chan struct{} // closed and replaced when bytes shrink
	f        *os.File
	active   uint64
	segs     map[uint64]*segment
	old      []uint64 // segments found by Open, oldest first, for Replay
	bytes    int64
	dirty    bool
	closed   bool
	buf      []byte
	stopSync chan struct{}
	syncDone chan struct{}
	stopOnce sync.Once
	written  uint64        // records written, guarded by mu
	syncMu   sync.Mutex    // one fsync at a time
	synced   atomic.Uint64 // records known to be on stable storage
}

// Open opens or creates the spool in dir. Segments left by an earlier
// process are kept for Replay; new records go to a new segment.
func Open(dir string, opts Options) (*Spool, error) {
	if opts.SyncInterval == 0 {
		opts.SyncInterval = defaultSync
	}
	if opts.SegmentBytes == 0 {
		opts.SegmentBytes = defaultSeg
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = defaultMax
	}
	switch {
	case opts.Sync < SyncAlways || opts.Sync > SyncNever:
		return nil, fmt.Errorf("spool: Sync %d is not SyncAlways, SyncInterval or SyncNever", opts.Sync)
	case opts.SyncInterval < 0:
		return nil, fmt.Errorf("spool: SyncInterval %v must be positive", opts.SyncInterval)
	case opts.SegmentBytes < 0:
		return nil, fmt.Errorf("spool: SegmentBytes %d must be positive", opts.SegmentBytes)
	case opts.MaxBytes < 0:
		return nil, fmt.Errorf("spool: MaxBytes %d must be positive", opts.MaxBytes)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{dir: dir, opts: opts, segs: map[uint64]*segment{}, room: make(chan struct{})}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	for _, de := range entries {
		n, ok := segmentNumber(de.Name())
		if !ok || de.IsDir() {
			continue
		}
		info, err := de.Info()
		if err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		s.segs[n] = &segment{size: info.Size()}
		s.old = append(s.old, n)
		s.bytes += info.Size()
		s.active = max(s.active, n)
	}
	slices.Sort(s.old)
	if err := s.startSegment(); err != nil {
		return nil, err
	}
	if opts.Sync == SyncInterval {
		s.stopSync = make(chan struct{})
		s.syncDone = make(chan struct{})
		go s.syncLoop()
	}
	return s, nil
}

func segmentNumber(name string) (uint64, bool) {
	base, ok := strings.CutSuffix(name, segmentExt)
	if !ok || len(base) != 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(base, 10, 64)
	return n, err == nil
}

func (s *Spool) path(n uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d%s", n, segmentExt))
}

// startSegment closes the active file and opens the next; s.mu held or
// not yet shared.
func (s *Spool) startSegment() error {
	if s.f != nil {
		if err := s.f.Sync(); err != nil {
			return fmt.Errorf("spool: sync segment: %w", err)
		}
		s.markSynced(s.written)
		if err := s.f.Close(); err != nil {
			return fmt.Errorf("spool: close segment: %w", err)
		}
		prev := s.active
		s.f = nil
		s.maybeDelete(prev)
	}
	s.active++
	f, err := os.OpenFile(s.path(s.active), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("spool: new segment: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	s.f = f
	s.segs[s.active] = &segment{}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("spool: sync directory: %w", err)
	}
	return nil
}

// Append writes rec as one record and returns its position. Under
// SyncAlways it returns after fsync; concurrent appenders share one fsync
// (group commit). It returns ErrFull when the spool would grow past
// MaxBytes; WaitRoom tells when to try again.
func (s *Spool) Append(rec []byte) (Pos, error) {
	pos, seq, err := s.write(rec)
	if err != nil || s.opts.Sync != SyncAlways {
		return pos, err
	}
	return pos, s.syncTo(seq)
}

// write appends the framed record to the active segment and returns its
// position and its sequence number among all writes.
func (s *Spool) write(rec []byte) (Pos, uint64, error) {
	if len(rec) > maxRecord {
		return Pos{}, 0, fmt.Errorf("spool: record of %d bytes exceeds the %d-byte limit", len(rec), maxRecord)
	}
	n := int64(headerLen + len(rec))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Pos{}, 0, ErrClosed
	}
	if s.bytes+n > s.opts.MaxBytes {
		return Pos{}, 0, ErrFull
	}
	seg := s.segs[s.active]
	if seg.size > 0 && seg.size+n > s.opts.SegmentBytes {
		if err := s.startSegment(); err != nil {
			return Pos{}, 0, err
		}
		seg = s.segs[s.active]
	}
	b := s.buf[:0]
	b = binary.LittleEndian.AppendUint32(b, uint32(len(rec)))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(rec, castagnoli))
	b = append(b, rec...)
	s.buf = b
	pos := Pos{Segment: s.active, Offset: seg.size}
	if _, err := s.f.Write(b); err != nil {
		// A partial write leaves a torn record that readers skip; start
		// afresh so later records are not hidden behind it.
		_ = s.startSegment()
		return Pos{}, 0, fmt.Errorf("spool: append: %w", err)
	}
	if cap(s.buf) > 64<<10 {
		s.buf = nil // do not pin one large record's buffer
	}
	seg.size += n
	seg.appended++
	s.bytes += n
	s.written++
	s.dirty = true
	return pos, s.written, nil
}

// syncTo returns once the write numbered seq is on stable storage. One
// fsync covers every write made before it, so callers that queue here
// behind a running fsync usually find their write already covered.
func (s *Spool) syncTo(seq uint64) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if s.synced.Load() >= seq {
		return nil
	}
	s.mu.Lock()
	f, target := s.f, s.written
	s.dirty = false
	s.mu.Unlock()
	if f == nil {
		return ErrClosed
	}
	if err := f.Sync(); err != nil {
		// A rotation or Close may have synced and closed f meanwhile.
		if s.synced.Load() >= seq {
			return nil
		}
		return fmt.Errorf("spool: fsync: %w", err)
	}
	s.markSynced(target)
	return nil
}

// markSynced records that writes up to n are on stable storage.
func (s *Spool) markSynced(n uint64) {
	for {
		cur := s.synced.Load()
		if cur >= n || s.synced.CompareAndSwap(cur, n) {
			return
		}
	}
}

// Ack records that the record at pos is committed. A segment is deleted
// when all its records are acknowledged and no more will be added to it.
func (s *Spool) Ack(pos Pos) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seg := s.segs[pos.Segment]
	if seg == nil {
		return
	}
	seg.acked++
	s.maybeDelete(pos.Segment)
}

// maybeDelete removes segment n when it is finished; s.mu held.
func (s *Spool) maybeDelete(n uint64) {
	seg := s.segs[n]
	if seg == nil || n == s.active || seg.acked < seg.appended {
		return
	}
	if slices.Contains(s.old, n) {
		return // not yet replayed
	}
	if err := os.Remove(s.path(n)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return // retried at the next Ack of this segment or on reopen
	}
	delete(s.segs, n)
	s.bytes -= seg.size
	close(s.room)
	s.room = make(chan struct{})
}

// Replay calls fn with every intact record of the segments that existed
// when the spool was opened, oldest first. Records stay in the spool until
// acknowledged, so a crash during replay replays them again. A torn or
// corrupt record ends its segment. Replay may be called once.
func (s *Spool) Replay(fn func(pos Pos, rec []byte) error) error {
	s.mu.Lock()
	old := s.old
	s.mu.Unlock()
	for len(old) > 0 {
		n := old[0]
		f, err := os.Open(s.path(n))
		if err != nil {
			return fmt.Errorf("spool: replay: %w", err)
		}
		err = s.replaySegment(n, f, fn)
		f.Close()
		if err != nil {
			return err
		}
		old = old[1:]
		s.mu.Lock()
		s.old = old
		s.maybeDelete(n)
		s.mu.Unlock()
	}
	return nil
}

func (s *Spool) replaySegment(n uint64, f *os.File, fn func(Pos, []byte) error) error {
	var hdr [headerLen]byte
	var off int64
	for {
		if _, err := io.ReadFull(f, hdr[:]); err != nil {
			return nil // end, or a torn header
		}
		size := binary.LittleEndian.Uint32(hdr[:4])
		sum := binary.LittleEndian.Uint32(hdr[4:])
		if size > maxRecord {
			return nil
		}
		rec := make([]byte, size)
		if _, err := io.ReadFull(f, rec); err != nil || crc32.Checksum(rec, castagnoli) != sum {
			return nil // torn or corrupt tail
		}
		s.mu.Lock()
		s.segs[n].appended++
		s.mu.Unlock()
		if err := fn(Pos{Segment: n, Offset: off}, rec); err != nil {
			return err
		}
		off += headerLen + int64(size)
	}
}

// Bytes returns the total size of the spool's segment files.
func (s *Spool) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// MaxBytes returns the configured cap.
func (s *Spool) MaxBytes() int64 { return s.opts.MaxBytes }

// WaitRoom blocks until the spool has shrunk below its cap by at least n
// bytes' worth of room, or ctx is done.
func (s *Spool) WaitRoom(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		if s.bytes+int64(headerLen+n) <= s.opts.MaxBytes {
			s.mu.Unlock()
			return nil
		}
		room := s.room
		s.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *Spool) syncLoop() {
	defer close(s.syncDone)
	t := time.NewTicker(s.opts.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopSync:
			return
		case <-t.C:
			s.mu.Lock()
			dirty, seq := s.dirty, s.written
			s.mu.Unlock()
			if dirty {
				_ = s.syncTo(seq) // a failure resurfaces at Sync or Close
			}
		}
	}
}

// Sync forces appended records to stable storage now.
func (s *Spool) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.dirty = false
	return s.f.Sync()
}

// Close syncs and closes the active segment, deleting it when all its
// records were acknowledged. Unacknowledged records stay for the next
// Open's Replay.
func (s *Spool) Close() error {
	if s.stopSync != nil {
		s.stopOnce.Do(func() {
			close(s.stopSync)
			<-s.syncDone
		})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.room)
	s.room = make(chan struct{})
	err := s.f.Sync()
	if err == nil {
		s.markSynced(s.written)
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.f = nil
	n := s.active
	s.active = 0 // let maybeDelete consider the last segment
	s.maybeDelete(n)
	return err
}
