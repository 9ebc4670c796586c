package connector

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"golang.org/x/oauth2"
)

// Device-code sign-in errors; each error returned by LoginDevice for these cases matches one
// of them with errors.Is and also carries the *TokenError.
var (
	ErrDeviceCodeExpired  = errors.New("the device code expired before the sign-in was completed; run login again and finish within the time shown")
	ErrDeviceCodeDeclined = errors.New("the sign-in was declined on the other device")
	ErrDeviceCodeInvalid  = errors.New("the identity platform did not recognise the device code; run login again")
)

const deviceGrant = "urn:ietf:params:oauth:grant-type:device_code"

// LoginDevice runs the device-code flow: it asks for a code, shows it through
// opts.ShowDeviceCode, and polls the token endpoint at the interval the server gave until the
// user signs in on another device. authorization_pending keeps polling, slow_down adds 5 s to
// the interval (RFC 8628), expired_token, authorization_declined and bad_verification_code end
// with ErrDeviceCodeExpired, ErrDeviceCodeDeclined and ErrDeviceCodeInvalid. Network failures
// and 5xx answers while polling are retried until the code expires.
//
// The code is requested with x/oauth2's Config.DeviceAuth; the polling is done here rather
// than by Config.DeviceAccessToken, which gives up on the first network failure and cannot be
// driven by a test clock.
func LoginDevice(ctx context.Context, cfg AuthConfig, opts LoginOptions) (Token, error) {
	cfg, err := withFlow(cfg, FlowDevice)
	if err != nil {
		return Token{}, err
	}
	if opts.ShowDeviceCode == nil {
		return Token{}, errors.New("device sign-in: nothing to show the code with")
	}
	ctx, err = opts.context(ctx)
	if err != nil {
		return Token{}, err
	}
	log := opts.logger()
	oc := cfg.oauthConfig()
	da, err := oc.DeviceAuth(ctx)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return Token{}, fmt.Errorf("start device sign-in: %w", deviceError(tokenErrorFrom(re)))
		}
		return Token{}, fmt.Errorf("start device sign-in: %w", err)
	}
	// The code and the address go to a terminal: keep them free of control characters and
	// escape sequences, and the address an http(s) URL.
	userCode, verifyURI := TerminalText(da.UserCode, 64), TerminalText(da.VerificationURI, 300)
	if da.DeviceCode == "" || userCode == "" || verifyURI == "" {
		return Token{}, errors.New("start device sign-in: the answer lacks device_code, user_code or verification_uri")
	}
	if u, err := url.Parse(verifyURI); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return Token{}, fmt.Errorf("start device sign-in: verification_uri %s is not an http(s) URL", shortText(verifyURI, 100))
	}
	expiry := da.Expiry
	if expiry.IsZero() {
		expiry = time.Now().Add(15 * time.Minute)
	}
	opts.ShowDeviceCode(DeviceCode{
		UserCode:        userCode,
		VerificationURI: verifyURI,
		Message:         fmt.Sprintf("To sign in, open %s in a web browser and enter the code %s.", verifyURI, userCode),
		Expiry:          expiry,
	})

	// The server's interval is honoured however long (RFC 8628 3.5); the code's expiry
	// bounds the wait anyway.
	interval := time.Duration(da.Interval) * time.Second
	if interval <= 0 {
		interval = 5 * time.Second
	}
	sleep := opts.sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	form := url.Values{
		"grant_type":  {deviceGrant},
		"client_id":   {cfg.ClientID},
		"device_code": {da.DeviceCode},
	}
	if cfg.ClientSecret != "" {
		form.Set("client_secret", cfg.ClientSecret)
	}
	pctx, cancel := context.WithDeadline(ctx, expiry)
	defer cancel()
	for {
		if err := sleep(pctx, interval); err != nil {
			if ctx.Err() == nil {
				return Token{}, fmt.Errorf("device sign-in: %w", ErrDeviceCodeExpired)
			}
			return Token{}, err
		}
		tok, err := postToken(pctx, cfg.TokenURL(), form)
		if err == nil {
			return tok, nil
		}
		var te *TokenError
		if !errors.As(err, &te) || te.Status >= 500 || te.Status == 429 {
			if pctx.Err() != nil && ctx.Err() == nil {
				return Token{}, fmt.Errorf("device sign-in: %w", ErrDeviceCodeExpired)
			}
			if ctx.Err() != nil {
				return Token{}, ctx.Err()
			}
			log.Warn("device sign-in: polling failed, trying again", "error", err)
			continue
		}
		switch te.Code {
		case "authorization_pending":
		case "slow_down":
			interval += 5 * time.Second
		default:
			return Token{}, fmt.Errorf("device sign-in: %w", deviceError(te))
		}
	}
}

// deviceError adds the matching sentinel to a device-flow TokenError.
func deviceError(te *TokenError) error {
	switch te.Code {
	case "expired_token":
		return fmt.Errorf("%w: %w", ErrDeviceCodeExpired, te)
	case "authorization_declined", "access_denied":
		return fmt.Errorf("%w: %w", ErrDeviceCodeDeclined, te)
	case "bad_verification_code":
		return fmt.Errorf("%w: %w", ErrDeviceCodeInvalid, te)
	}
	return te
}
