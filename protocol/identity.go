package protocol

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Fingerprint is the server key's identity as ssh prints it: "SHA256:" and
// the unpadded base64 of the SHA-256 of the DER SubjectPublicKeyInfo.
func Fingerprint(pub *rsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		// An *rsa.PublicKey always marshals; failing here is a bug.
		panic("protocol: marshal public key: " + err.Error())
	}
	return FingerprintDER(der)
}

// FingerprintDER is Fingerprint for a key already in DER form.
func FingerprintDER(der []byte) string {
	sum := sha256.Sum256(der)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// LoadOrCreateKey reads the server's RSA-2048 private key (PEM, PKCS#8 or
// PKCS#1) from path. If the file does not exist it makes a new key with
// rnd and saves it with mode 0600, so the fingerprint survives restarts.
// The directory must exist already.
// created reports whether a new key was made.
func LoadOrCreateKey(path string, rnd io.Reader) (key *rsa.PrivateKey, created bool, err error) {
	data, err := os.ReadFile(path)
	if err == nil {
		key, err = ParsePrivateKey(data)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("protocol: read key: %w", err)
	}
	key, err = rsa.GenerateKey(rnd, RSABits)
	if err != nil {
		return nil, false, fmt.Errorf("protocol: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, false, fmt.Errorf("protocol: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("protocol: save key: %w", err)
	}
	werr := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(path)
		return nil, false, fmt.Errorf("protocol: save key: %w", werr)
	}
	return key, true, nil
}

// ParsePrivateKey decodes a PEM RSA-2048 private key.
func ParsePrivateKey(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("protocol: no PEM block in key file")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("protocol: PEM block is %q, want a private key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("protocol: parse key: %w", err)
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok || rsaKey.N.BitLen() != RSABits {
		return nil, fmt.Errorf("protocol: key is not RSA-%d", RSABits)
	}
	return rsaKey, nil
}

// ConfigDir is where chatlab keeps the server key and the known-servers
// file: $XDG_CONFIG_HOME/chatlab or its platform equivalent.
func ConfigDir() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("protocol: no config dir (set HOME or XDG_CONFIG_HOME): %w", err)
	}
	return filepath.Join(dir, "chatlab"), nil
}
