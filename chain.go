package eventlog

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sort"
)

// The tamper-evident history: every stored event is covered by a hash
// chain in write (seq) order. Each store keeps a row per event in its
// eventlog_chain table:
//
//	user_digest = UserDigest(id, user)          (nil for no user)
//	prev        = seq of the entry it follows   (0 for the first)
//	hash        = ChainNext(prev hash, seq, EventDigest(event, user_digest))
//
// so forget-user can erase a person's id and name while the stored user
// digest keeps the chain whole. Prune records, in the same transaction
// that deletes, a checkpoint holding the chain hash of the last deleted
// event before each surviving event (or before the next one to be
// written), and the chain continues from it. One walk, Verify, checks
// every store; a store only streams its rows (ChainReader).

// ChainTail is the Before value of the checkpoint that follows the last
// stored event: the chain hash the next written event continues from.
const ChainTail int64 = math.MaxInt64

// UserDigest returns the SHA-256 digest of an event's user, bound to the
// event's id so that the erased events of one person cannot be linked
// by equal digests, or nil when there is no user.
func UserDigest(eventID string, u *User) []byte {
	if u == nil {
		return nil
	}
	h := sha256.New()
	b := make([]byte, 0, 64+len(eventID)+len(u.ID)+len(u.Name))
	b = append(b, "eventlog.user.v1\x00"...)
	for _, s := range [...]string{eventID, u.ID, u.Name} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	h.Write(b)
	return h.Sum(nil)
}

// EventDigest returns the SHA-256 digest of e's canonical JSON form with
// the user left out, followed by userDigest (the stored user digest; nil
// for no user). The user fields themselves are not hashed, so erasing
// them keeps the digest.
func EventDigest(e Event, userDigest []byte) [32]byte {
	e.User = nil
	b := make([]byte, 0, 240+len(e.Extra))
	b = append(b, "eventlog.event.v1\x00"...)
	b = e.AppendJSON(b)
	b = append(b, 0)
	b = append(b, userDigest...)
	return sha256.Sum256(b)
}

// ChainNext returns the chain hash of the event at seq with this digest,
// following the entry whose chain hash is prev (all zero for the first).
func ChainNext(prev [32]byte, seq int64, digest [32]byte) [32]byte {
	var b [len("eventlog.chain.v1\x00") + 32 + 8 + 32]byte
	n := copy(b[:], "eventlog.chain.v1\x00")
	n += copy(b[n:], prev[:])
	binary.BigEndian.PutUint64(b[n:], uint64(seq))
	n += 8
	copy(b[n:], digest[:])
	return sha256.Sum256(b[:])
}

// ChainLink is one stored event as a ChainReader streams it.
type ChainLink struct {
	Seq int64
	// Event is the event as stored; User is nil once it was forgotten.
	Event Event
	// UserDigest is the stored user digest, nil when there is none.
	UserDigest []byte
	// Prev is the stored seq of the entry this event follows.
	Prev int64
	// Hash is the stored chain hash, nil when the row has none.
	Hash []byte
}

// ChainCheckpoint is the chain hash of a pruned event: the event whose
// seq is Before continues from Hash (Before is ChainTail for the next
// event to be written). Seq is the pruned event's seq.
type ChainCheckpoint struct {
	Before int64
	Seq    int64
	Hash   []byte
}

// ChainReader is implemented by stores that keep the hash chain (all
// three SQL stores do). ReadChain reads one consistent snapshot: it
// returns every checkpoint, then calls fn for every event in seq order;
// an error from fn stops the read and is returned.
type ChainReader interface {
	ReadChain(ctx context.Context, checkpoints func([]ChainCheckpoint) error, fn func(ChainLink) error) error
}

// What VerifyResult.Problem names.
const (
	ProblemModified   = "modified"
	ProblemDeleted    = "deleted"
	ProblemOutOfBand  = "inserted out of band"
	ProblemCheckpoint = "checkpoint altered"
)

// VerifyResult is the outcome of Verify.
type VerifyResult struct {
	// Checked is how many events were checked (all of them when OK).
	Checked int64
	// Head is the hex chain hash of the last event or checkpoint: the
	// value to record elsewhere and compare later. Empty when nothing was
	// ever stored.
	Head string
	// OK is true when every event verified.
	OK bool
	// Seq and ID name the first bad event; Problem is one of the
	// Problem constants and Detail says more.
	Seq     int64
	ID      string
	Problem string
	Detail  string
}

// String describes the result in one line.
func (r VerifyResult) String() string {
	if r.OK && r.Head == "" {
		return fmt.Sprintf("verified %d events; nothing stored yet", r.Checked)
	}
	if r.OK {
		return fmt.Sprintf("verified %d events; head %s", r.Checked, r.Head)
	}
	if r.ID == "" {
		return fmt.Sprintf("chain broken after %d good events: %s: %s", r.Checked, r.Problem, r.Detail)
	}
	return fmt.Sprintf("event seq %d id %s: %s: %s", r.Seq, r.ID, r.Problem, r.Detail)
}

// Verify walks the chain of r in seq order and reports the first event
// that was modified, deleted or inserted out of band. progress, when not
// nil, is called every 10,000 events with the count so far. The error is
// for failures to read; a broken chain is a result with OK false.
func Verify(ctx context.Context, r ChainReader, progress func(checked int64)) (VerifyResult, error) {
	var (
		res    VerifyResult
		cps    map[int64]ChainCheckpoint
		tail   *ChainCheckpoint
		prev   [32]byte
		prevSq int64
		bad    = errors.New("chain broken") // stops the read; not returned
	)
	fail := func(l ChainLink, problem, format string, args ...any) error {
		res.Seq, res.ID, res.Problem, res.Detail = l.Seq, l.Event.ID, problem, fmt.Sprintf(format, args...)
		return bad
	}
	err := r.ReadChain(ctx, func(list []ChainCheckpoint) error {
		cps = make(map[int64]ChainCheckpoint, len(list))
		for _, c := range list {
			if len(c.Hash) != 32 {
				res.Problem, res.Detail = ProblemCheckpoint, fmt.Sprintf("checkpoint of pruned seq %d has a %d-byte hash", c.Seq, len(c.Hash))
				return bad
			}
			if c.Before == ChainTail {
				tail = &c
				continue
			}
			cps[c.Before] = c
		}
		return nil
	}, func(l ChainLink) error {
		if cp, ok := cps[l.Seq]; ok {
			copy(prev[:], cp.Hash)
			prevSq = cp.Seq
			delete(cps, l.Seq)
		}
		if len(l.Hash) == 0 {
			return fail(l, ProblemOutOfBand, "it has no chain hash")
		}
		if l.Event.User != nil {
			if want := UserDigest(l.Event.ID, l.Event.User); string(want) != string(l.UserDigest) {
				return fail(l, ProblemModified, "its user does not match the user digest written with it")
			}
		}
		got := ChainNext(prev, l.Seq, EventDigest(l.Event, l.UserDigest))
		if string(got[:]) != string(l.Hash) {
			if l.Prev != prevSq {
				return fail(l, ProblemDeleted, "the event before it (seq %d) is missing and no prune recorded it", l.Prev)
			}
			return fail(l, ProblemModified, "its content does not match the chain hash written with it")
		}
		prev, prevSq = got, l.Seq
		res.Checked++
		if progress != nil && res.Checked%10_000 == 0 {
			progress(res.Checked)
		}
		return nil
	})
	if errors.Is(err, bad) {
		return res, nil
	}
	if err != nil {
		return res, err
	}
	if len(cps) > 0 {
		// A checkpoint before an event that is not there: the event it
		// led to was deleted without a prune.
		left := make([]int64, 0, len(cps))
		for b := range cps {
			left = append(left, b)
		}
		sort.Slice(left, func(i, j int) bool { return left[i] < left[j] })
		res.Seq, res.Problem = left[0], ProblemDeleted
		res.Detail = fmt.Sprintf("the event with seq %d, which follows a pruned event, is missing", left[0])
		return res, nil
	}
	if tail != nil {
		copy(prev[:], tail.Hash)
	}
	if res.Checked > 0 || tail != nil {
		res.Head = hex.EncodeToString(prev[:])
	}
	res.OK = true
	if progress != nil {
		progress(res.Checked)
	}
	return res, nil
}

// ChainRunEnd is for stores recording a prune checkpoint. Given the chain
// entries of one run of deleted events (seq to hash), the seqs that other
// entries of the run follow (referenced), and the prev of the next
// surviving event (nil when there is none), it returns the entry the chain
// continues from: the survivor's prev when that was deleted, else the
// entry no other entry of the run follows. ok is false for an empty run.
func ChainRunEnd(run map[int64][]byte, referenced map[int64]bool, nextPrev *int64) (seq int64, ok bool) {
	if nextPrev != nil {
		if _, in := run[*nextPrev]; in {
			return *nextPrev, true
		}
	}
	for s := range run {
		if !referenced[s] && (!ok || s > seq) {
			seq, ok = s, true
		}
	}
	return seq, ok
}
