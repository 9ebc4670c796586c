package connector

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"time"
)

// clientAssertionType is the client_assertion_type of a certificate credential.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLifetime is how long a client assertion is valid.
const assertionLifetime = 10 * time.Minute

// maxCertFile bounds the PEM file read for a certificate credential.
const maxCertFile = 1 << 20

// ClientCertificate is an app registration's certificate credential: a certificate and its
// private key. It holds a secret (the key): never log it. Load it with LoadClientCertificate.
type ClientCertificate struct {
	Cert *x509.Certificate
	key  crypto.Signer
	// Thumbprint is the base64url SHA-256 of the certificate's DER encoding, the x5t#S256
	// header of the assertions and the thumbprint Microsoft Entra ID lists for it.
	Thumbprint string
}

// LoadClientCertificate reads a PEM file holding the certificate (the first CERTIFICATE
// block) and its unencrypted private key (PKCS #8, PKCS #1 RSA or SEC 1 EC; RSA or ECDSA P-256
// or P-384) and checks that the key belongs to the certificate. Errors name the file, never
// the key.
func LoadClientCertificate(file string) (*ClientCertificate, error) {
	// Stat first: opening a FIFO or a device could block.
	if st, err := os.Stat(file); err != nil {
		return nil, fmt.Errorf("client certificate: %w", err)
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("client certificate %s: not a regular file", file)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("client certificate: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCertFile+1))
	if err != nil {
		return nil, fmt.Errorf("client certificate %s: %w", file, err)
	}
	if len(data) > maxCertFile {
		return nil, fmt.Errorf("client certificate %s: larger than %d KiB", file, maxCertFile>>10)
	}
	cc, err := parseClientCertificate(data)
	if err != nil {
		return nil, fmt.Errorf("client certificate %s: %w", file, err)
	}
	return cc, nil
}

func parseClientCertificate(data []byte) (*ClientCertificate, error) {
	var (
		cert *x509.Certificate
		key  crypto.Signer
	)
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE":
			if cert != nil {
				continue // the chain after the leaf is not needed
			}
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse certificate: %w", err)
			}
			cert = c
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
			if key != nil {
				return nil, errors.New("holds more than one private key")
			}
			if _, ok := b.Headers["DEK-Info"]; ok {
				return nil, errors.New("the private key is encrypted; store it unencrypted in a file only the agent can read (mode 0600)")
			}
			k, err := parsePrivateKey(b)
			if err != nil {
				return nil, err
			}
			key = k
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("the private key is encrypted; store it unencrypted in a file only the agent can read (mode 0600)")
		}
	}
	switch {
	case cert == nil:
		return nil, errors.New("holds no CERTIFICATE block (the PEM file must hold the certificate and its private key)")
	case key == nil:
		return nil, errors.New("holds no private key (the PEM file must hold the certificate and its private key)")
	}
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return nil, errors.New("the private key does not belong to the certificate")
	}
	sum := sha256.Sum256(cert.Raw)
	return &ClientCertificate{Cert: cert, key: key, Thumbprint: base64.RawURLEncoding.EncodeToString(sum[:])}, nil
}

func parsePrivateKey(b *pem.Block) (crypto.Signer, error) {
	var (
		k   any
		err error
	)
	switch b.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	switch k := k.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("the RSA key has %d bits; Microsoft needs at least 2048", k.N.BitLen())
		}
		return k, nil
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			return nil, errors.New("the ECDSA key must be on curve P-256 or P-384")
		}
		return k, nil
	}
	return nil, fmt.Errorf("unsupported private key type %T (RSA or ECDSA)", k)
}

// algorithm returns the JWS algorithm of the assertions: PS256 for RSA keys, ES256 or
// ES384 for ECDSA keys.
func (c *ClientCertificate) algorithm() string {
	if k, ok := c.key.(*ecdsa.PrivateKey); ok {
		if k.Curve == elliptic.P384() {
			return "ES384"
		}
		return "ES256"
	}
	return "PS256"
}

// assertion returns a signed client assertion (RFC 7523) for the token endpoint aud: header
// alg and x5t#S256, claims aud, iss and sub (the client id), jti (random), nbf, iat and exp
// (10 minutes later).
func (c *ClientCertificate) assertion(clientID, aud string, now time.Time) (string, error) {
	jti, err := randomString(16)
	if err != nil {
		return "", err
	}
	alg := c.algorithm()
	header, _ := json.Marshal(map[string]string{"alg": alg, "typ": "JWT", "x5t#S256": c.Thumbprint})
	claims, _ := json.Marshal(map[string]any{
		"aud": aud, "iss": clientID, "sub": clientID, "jti": jti,
		"nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(assertionLifetime).Unix(),
	})
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	digest, hash := jwsDigest(alg, []byte(signing))
	var sig []byte
	switch k := c.key.(type) {
	case *rsa.PrivateKey:
		sig, err = rsa.SignPSS(rand.Reader, k, hash, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case *ecdsa.PrivateKey:
		var r, s *big.Int
		if r, s, err = ecdsa.Sign(rand.Reader, k, digest); err == nil {
			size := (k.Curve.Params().BitSize + 7) / 8
			sig = make([]byte, 2*size)
			r.FillBytes(sig[:size])
			s.FillBytes(sig[size:])
		}
	default:
		err = fmt.Errorf("unsupported key type %T", k)
	}
	if err != nil {
		return "", fmt.Errorf("sign client assertion: %w", err)
	}
	return signing + "." + enc.EncodeToString(sig), nil
}

// jwsDigest hashes the signing input for alg.
func jwsDigest(alg string, signing []byte) ([]byte, crypto.Hash) {
	if alg == "ES384" {
		sum := sha512.Sum384(signing)
		return sum[:], crypto.SHA384
	}
	sum := sha256.Sum256(signing)
	return sum[:], crypto.SHA256
}
