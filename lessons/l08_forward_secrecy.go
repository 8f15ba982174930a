package lessons

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"chatlab/protocol"
	"chatlab/protocol/chat"
	"chatlab/sniff"
)

// secretMessages returns what lesson 8 records and reads back with the key.
func secretMessages() []string {
	return []string{"the exam answers are in room 12", "burn this message"}
}

// stepRecordAndSteal: record a session, steal the key later, decrypt.
func stepRecordAndSteal(ctx context.Context, e *Env) error {
	e.banner("Live: record a secure chat to a file")
	pcapPath := filepath.Join(e.Dir, "session.pcap")
	f, err := os.Create(pcapPath)
	if err != nil {
		return fmt.Errorf("lessons: %w", err)
	}
	defer f.Close()
	ev, err := e.eavesdrop(ctx, eavesConfig{quiet: true, dump: f})
	if err != nil {
		return err
	}
	w, err := e.newWorld(worldConfig{mode: chat.Secure, eaves: ev})
	if err != nil {
		return ev.finish(err)
	}
	msgs := secretMessages()
	// Alice's client keeps a key log, as CHATLAB_KEYLOGFILE makes it do:
	// one line, for her session alone.
	var keyLog bytes.Buffer
	conv, err := w.converse(ctx, msgs, clientOpts{keyLog: protocol.NewKeyLogWriter(&keyLog)})
	w.close()
	if err := ev.finish(err); err != nil {
		return err
	}
	if !ev.capture {
		if err := writePcap(f, ev.rec); err != nil {
			return err
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("lessons: %w", err)
	}
	e.note("recorded to " + pcapPath + "; the chat is over and the server has stopped")

	without, err := readCapture(ctx, pcapPath, nil)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if strings.Contains(without, m) {
			return failed("without the key the recording should not show %q", m)
		}
	}
	views, _ := seenMessages(ev.rec, conv.alice, false)
	if len(views) < len(msgs) {
		return failed("the recording should hold %d records from alice, it holds %d", len(msgs), len(views))
	}
	e.sideBySide("what alice typed", msgs, "what the recording holds, without the key", views[:len(msgs)])
	e.claim("read back without the key, the recording shows no message: only records of random-looking bytes")

	e.banner("Live: alice's key log, one session's key")
	logPath := filepath.Join(e.Dir, "alice-keys.log")
	if err := os.WriteFile(logPath, keyLog.Bytes(), 0o600); err != nil {
		return fmt.Errorf("lessons: %w", err)
	}
	kl, err := protocol.ParseKeyLog(&keyLog)
	if err != nil || kl.Len() != 1 {
		return failed("alice's key log should hold one session (%v)", err)
	}
	e.note("the key log holds one line, for alice's session; whoever has it runs:\n  bin/sniff -r " +
		pcapPath + " --follow \\\n      --keylog " + logPath)
	withLog, err := readCaptureWith(ctx, pcapPath, sniff.Config{KeyLog: kl})
	if err != nil {
		return err
	}
	e.printf("%s\n", decryptedLines(withLog))
	for _, m := range msgs {
		if !strings.Contains(withLog, `opened with --keylog: message "`+m+`"`) {
			return failed("alice's key log should open her message %q", m)
		}
		if strings.Contains(withLog, `text "`+m+`"`) {
			return failed("alice's key log should not open bob's session, where the server sent him %q", m)
		}
	}
	e.claim("the key log opened alice's session and nothing else: the server's copies to bob stay sealed")

	e.banner("Live: months later, the server's private key is stolen")
	keyPath := filepath.Join(e.Dir, "server.key")
	if err := saveKey(keyPath, w.key); err != nil {
		return err
	}
	// On two lines, as a shell takes it, so it fits the screen and can
	// still be copied.
	e.note("the thief runs:\n  bin/sniff -r " + pcapPath + " --follow \\\n      --key " + keyPath)
	with, err := readCapture(ctx, pcapPath, w.key)
	if err != nil {
		return err
	}
	e.printf("%s\n", decryptedLines(with))
	for _, m := range msgs {
		if !strings.Contains(with, m) {
			return failed("with the stolen key the recording should decrypt to show %q", m)
		}
	}
	for _, m := range msgs {
		if !strings.Contains(with, `text "`+m+`"`) {
			return failed("the server key should open bob's session too, where the server sent him %q", m)
		}
	}
	e.alarm("the stolen key decrypted every session recorded long before, alice's and bob's: " +
		"RSA key transport has no forward secrecy")
	return nil
}

// readCapture runs the sniffer over a pcap file, as sniff -r does.
func readCapture(ctx context.Context, path string, key *rsa.PrivateKey) (string, error) {
	return readCaptureWith(ctx, path, sniff.Config{Key: key})
}

// readCaptureWith is readCapture with the keys of cfg.
func readCaptureWith(ctx context.Context, path string, cfg sniff.Config) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("lessons: %w", err)
	}
	defer f.Close()
	src, link, err := sniff.OpenFile(f)
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	cfg.Out, cfg.Follow = &out, true
	if _, err := sniff.Run(ctx, src, link, cfg); err != nil {
		return "", err
	}
	return out.String(), nil
}

// decryptedLines keeps the sniffer's lines that show decrypted text.
func decryptedLines(report string) string {
	var keep []string
	msgs := secretMessages()
	for _, l := range strings.Split(report, "\n") {
		for _, m := range msgs {
			if strings.Contains(l, m) {
				keep = append(keep, l)
				break
			}
		}
	}
	return strings.Join(keep, "\n")
}

// saveKey writes key as PEM, as the thief would find it on the server.
func saveKey(path string, key *rsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("lessons: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("lessons: %w", err)
	}
	return nil
}
