package cli

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/eventlog/eventlog"
)

// checkpointInterval is how often serve publishes a signed checkpoint
// when --checkpoint-key is given.
const checkpointInterval = time.Hour

// readCheckpointKey reads an Ed25519 private key from a PEM file in
// PKCS #8 form, as `openssl genpkey -algorithm ed25519` writes it.
func readCheckpointKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--checkpoint-key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("--checkpoint-key %s: no PEM block; create one with: openssl genpkey -algorithm ed25519 -out KEY.pem", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("--checkpoint-key %s: %w", path, err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("--checkpoint-key %s: a %T, want an Ed25519 key", path, key)
	}
	return priv, nil
}

// checkpointMessage is the text a checkpoint signs: a version line, the
// time, the number of events verified and the head hash, each on its own
// line with a final newline.
func checkpointMessage(at time.Time, res eventlog.VerifyResult) []byte {
	return []byte("eventlog checkpoint v1\n" + eventlog.FormatTime(at) + "\n" +
		strconv.FormatInt(res.Checked, 10) + "\n" + res.Head + "\n")
}

// publishCheckpoint verifies the chain and logs a signed checkpoint, or
// an error naming the first bad event.
func publishCheckpoint(ctx context.Context, cr eventlog.ChainReader, key ed25519.PrivateKey, now time.Time, log *slog.Logger) {
	res, err := eventlog.Verify(ctx, cr, nil)
	switch {
	case err != nil:
		log.Error("checkpoint: reading the hash chain failed; retrying at the next run", "error", err)
	case !res.OK:
		log.Error("checkpoint: the hash chain does not verify", "problem", res.String())
	default:
		sig := ed25519.Sign(key, checkpointMessage(now, res))
		log.Info("chain checkpoint", "at", eventlog.FormatTime(now), "events", res.Checked, "head", res.Head,
			"public_key", hex.EncodeToString(key.Public().(ed25519.PublicKey)),
			"signature", base64.StdEncoding.EncodeToString(sig))
	}
}

// startCheckpoints starts serve's signed checkpoints when keyPath is set:
// one now and one every interval until stop, which waits for a running
// one to end.
func startCheckpoints(ctx context.Context, store eventlog.Store, keyPath string, interval time.Duration, now func() time.Time, log *slog.Logger) (stop func(), err error) {
	if keyPath == "" {
		return func() {}, nil
	}
	key, err := readCheckpointKey(keyPath)
	if err != nil {
		return nil, err
	}
	cr, ok := store.(eventlog.ChainReader)
	if !ok {
		return nil, fmt.Errorf("--checkpoint-key: this store keeps no hash chain: %w", eventlog.ErrNotSupported)
	}
	if interval <= 0 {
		interval = checkpointInterval
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			publishCheckpoint(ctx, cr, key, now(), log)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() { cancel(); <-done }, nil
}
