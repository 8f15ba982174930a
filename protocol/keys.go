package protocol

import (
	"crypto/hkdf"
	"crypto/sha256"
)

// HKDF labels for the two directions. Each direction gets its own key, so
// a record reflected back to its sender never opens.
const (
	labelClientToServer = "chatlab v1 client to server"
	labelServerToClient = "chatlab v1 server to client"
)

// Transcript hashes the two handshake records exactly as they crossed the
// wire (headers included). It salts the key schedule, so keys are bound to
// this server key and this hello.
func Transcript(helloRecord, keyExchangeRecord []byte) []byte {
	h := sha256.New()
	h.Write(helloRecord)
	h.Write(keyExchangeRecord)
	return h.Sum(nil)
}

// DeriveKeys expands the transported session key into one AES-128 key per
// direction: HKDF-SHA256 with the transcript hash as salt. The two keys
// share one extraction, as hkdf.Key would make twice.
func DeriveKeys(sessionKey, transcript []byte) (clientToServer, serverToClient []byte, err error) {
	prk, err := hkdf.Extract(sha256.New, sessionKey, transcript)
	if err != nil {
		return nil, nil, err
	}
	clientToServer, err = hkdf.Expand(sha256.New, prk, labelClientToServer, SessionKeySize)
	if err != nil {
		return nil, nil, err
	}
	serverToClient, err = hkdf.Expand(sha256.New, prk, labelServerToClient, SessionKeySize)
	return clientToServer, serverToClient, err
}
