package graphtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/url"
	"strings"
	"time"
)

// jwtBearer is the client_assertion_type of a certificate credential.
const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// AddClientCertificate registers a certificate credential for clientID. From then on a
// client_assertion from that client must be a JWT signed with the key of one of its
// certificates (PS256 or RS256 for RSA, ES256 or ES384 for ECDSA), naming it by x5t#S256,
// with aud the token endpoint, iss and sub the client id, a jti not seen before, and nbf,
// exp around the server's time; otherwise the token endpoint answers invalid_client as
// Entra ID does. Assertions of clients without certificates are accepted unchecked.
func (s *Server) AddClientCertificate(clientID string, cert *x509.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.certs == nil {
		s.certs = map[string][]*x509.Certificate{}
		s.jtis = map[string]bool{}
	}
	s.certs[clientID] = append(s.certs[clientID], cert)
}

// checkAssertion verifies a client assertion against the client's certificates; the caller
// holds s.mu.
func (s *Server) checkAssertion(f url.Values, tenant, clientID string) *oauthErr {
	certs := s.certs[clientID]
	if len(certs) == 0 || f.Get("client_assertion") == "" {
		return nil
	}
	bad := func(aadsts int, desc string) *oauthErr { return &oauthErr{401, "invalid_client", aadsts, desc} }
	if f.Get("client_assertion_type") != jwtBearer {
		return &oauthErr{400, "invalid_request", 50027, "Invalid client_assertion_type: it must be " + jwtBearer + "."}
	}
	parts := strings.Split(f.Get("client_assertion"), ".")
	if len(parts) != 3 {
		return bad(50027, "Invalid JWT token. The token is not in a valid format.")
	}
	dec := base64.RawURLEncoding
	hb, err1 := dec.DecodeString(parts[0])
	cb, err2 := dec.DecodeString(parts[1])
	sig, err3 := dec.DecodeString(parts[2])
	var header struct {
		Alg       string `json:"alg"`
		X5TS256   string `json:"x5t#S256"`
		X5T       string `json:"x5t"`
		TokenType string `json:"typ"`
	}
	var claims struct {
		Aud, Iss, Sub, Jti string
		Exp, Nbf           int64
	}
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil {
		return bad(50027, "Invalid JWT token. The token is not in a valid format.")
	}
	var cert *x509.Certificate
	for _, c := range certs {
		sum := sha256.Sum256(c.Raw)
		if header.X5TS256 == dec.EncodeToString(sum[:]) {
			cert = c
		}
	}
	if cert == nil {
		return bad(700027, "The certificate with identifier used to sign the client assertion is not registered on application.")
	}
	if !verifyJWS(header.Alg, cert.PublicKey, []byte(parts[0]+"."+parts[1]), sig) {
		return bad(700027, "Client assertion failed signature validation.")
	}
	now := s.now()
	switch {
	case claims.Iss != clientID || claims.Sub != clientID:
		return bad(700021, "Client assertion application identifier doesn't match 'client_id' parameter.")
	case claims.Aud != s.URL+"/"+tenant+"/oauth2/v2.0/token":
		return bad(700212, "No matching federated identity record found for presented assertion audience '"+claims.Aud+"'.")
	case claims.Jti == "" || s.jtis[claims.Jti]:
		return bad(700023, "Client assertion contains an invalid or replayed jti.")
	case claims.Exp == 0 || !now.Before(time.Unix(claims.Exp, 0)) || now.Add(5*time.Minute).Before(time.Unix(claims.Nbf, 0)):
		return bad(700024, "Client assertion is not within its valid time range.")
	case time.Unix(claims.Exp, 0).Sub(now) > 24*time.Hour:
		return bad(700024, "Client assertion lifetime is too long.")
	}
	s.jtis[claims.Jti] = true
	return nil
}

// verifyJWS checks a JWS signature of the algorithms Entra ID accepts for certificates.
func verifyJWS(alg string, pub crypto.PublicKey, signing, sig []byte) bool {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		sum := sha256.Sum256(signing)
		switch alg {
		case "PS256":
			return rsa.VerifyPSS(k, crypto.SHA256, sum[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil
		case "RS256":
			return rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) == nil
		}
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		switch {
		case alg == "ES256" && size == 32:
			sum := sha256.Sum256(signing)
			return ecdsa.Verify(k, sum[:], r, s)
		case alg == "ES384" && size == 48:
			sum := sha512.Sum384(signing)
			return ecdsa.Verify(k, sum[:], r, s)
		}
	}
	return false
}
