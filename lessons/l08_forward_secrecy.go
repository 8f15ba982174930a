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
	conv, err := w.converse(ctx, msgs, clientOpts{})
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
	e.alarm("the stolen key decrypted a conversation recorded long before: RSA key transport has no forward secrecy")
	return nil
}

// readCapture runs the sniffer over a pcap file, as sniff -r does.
func readCapture(ctx context.Context, path string, key *rsa.PrivateKey) (string, error) {
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
	if _, err := sniff.Run(ctx, src, link, sniff.Config{Out: &out, Follow: true, Key: key}); err != nil {
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
