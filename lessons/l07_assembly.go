package lessons

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/cpu"

	"chatlab/protocol"
)

// measureBlock is the plaintext sealed per call while measuring: the size
// of a long chat message, large enough that per-call overhead is small.
const measureBlock = 4096

// childTimeout bounds the child process of lesson 7.
const childTimeout = 20 * time.Second

// MeasureGCM seals measureBlock-byte messages with AES-128-GCM for about d
// and returns the speed in MB/s (10^6 bytes per second).
func MeasureGCM(d time.Duration) (float64, error) {
	aead, err := protocol.NewGCM(make([]byte, protocol.SessionKeySize))
	if err != nil {
		return 0, err
	}
	var nonce [protocol.NonceSize]byte
	plain := make([]byte, measureBlock)
	out := make([]byte, 0, measureBlock+protocol.TagSize)
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		for range 64 {
			out = aead.Seal(out[:0], nonce[:], plain, nil)
			n += measureBlock
		}
	}
	secs := time.Since(start).Seconds()
	return float64(n) / secs / 1e6, nil
}

// GCMVector seals one fixed message with a fixed key and nonce, so two
// implementations (with and without AES-NI) can be compared byte for byte.
func GCMVector() ([]byte, error) {
	key := []byte("chatlab lesson 7")
	aead, err := protocol.NewGCM(key)
	if err != nil {
		return nil, err
	}
	nonce := protocol.SeqNonce(7)
	return aead.Seal(nil, nonce[:], []byte("the same bytes, with or without AES-NI"), []byte("header")), nil
}

// runChild runs the lesson program with AES-NI turned off.
func runChild(ctx context.Context, exe, arg string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, childTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, arg)
	cmd.Env = append(os.Environ(), "GODEBUG=cpu.aes=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("lessons: run %s %s without AES-NI: %w: %s", exe, arg, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// aesOffBy reports whether a GODEBUG value turns AES-NI off, as Go reads
// it at start-up: cpu.aes or cpu.all, the last setting winning.
func aesOffBy(godebug string) bool {
	off := false
	for _, kv := range strings.Split(godebug, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if k == "cpu.aes" || k == "cpu.all" {
			off = v == "off"
		}
	}
	return off
}

// cpuHasAES reports whether the CPU has AES instructions, even when
// GODEBUG hid them from Go: Linux lists them as the "aes" flag in
// /proc/cpuinfo.
func cpuHasAES() bool {
	if cpu.X86.HasAES {
		return true
	}
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(info), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "flags" {
			return slices.Contains(strings.Fields(v), "aes")
		}
	}
	return false
}

// stepMeasure: AES-128-GCM with and without AES-NI.
func stepMeasure(ctx context.Context, e *Env) error {
	e.banner("Live: AES-128-GCM on this machine, with and without AES-NI")
	off := aesOffBy(os.Getenv("GODEBUG"))
	e.note(fmt.Sprintf("this CPU: AES-NI %v, carry-less multiply (for GCM) %v", cpuHasAES(), cpu.X86.HasPCLMULQDQ))
	withLabel := "with AES-NI (as Go runs by default)"
	if off {
		e.note("AES-NI is turned off in this process by GODEBUG=cpu.aes=off; run without it to compare")
		withLabel = "this process (GODEBUG=cpu.aes=off)"
	}
	with, err := MeasureGCM(childMeasureTime)
	if err != nil {
		return err
	}
	text, err := runChild(ctx, e.Exe, internalSpeed)
	if err != nil {
		return err
	}
	without, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return fmt.Errorf("lessons: the child printed %q, not a speed", text)
	}
	e.printf("\n  %-40s %8.1f MB/s\n", withLabel, with)
	e.printf("  %-40s %8.1f MB/s\n", "without (GODEBUG=cpu.aes=off)", without)
	if with <= 0 || without <= 0 {
		return failed("both measurements should be positive speeds")
	}
	e.printf("  ratio                                    %8.1f×\n\n", with/without)

	mine, err := GCMVector()
	if err != nil {
		return err
	}
	theirs, err := runChild(ctx, e.Exe, internalVector)
	if err != nil {
		return err
	}
	sealedBy := "one message sealed with AES-NI:"
	if off {
		sealedBy = "one message sealed by this process:"
	}
	e.printf("  %-37s%s…\n", sealedBy, hex.EncodeToString(mine)[:32])
	e.printf("  %-37s%s…\n\n", "the same message sealed without:", theirs[:min(32, len(theirs))])
	if theirs != hex.EncodeToString(mine) {
		return failed("AES-128-GCM should give the same bytes with and without AES-NI")
	}
	if off {
		e.claim("same bytes on the wire either way; AES-NI was off in both runs, so the speeds say nothing about it")
		return nil
	}
	e.claim(fmt.Sprintf("same bytes on the wire either way; AES-NI made it %.1f times as fast here", with/without))
	return nil
}
