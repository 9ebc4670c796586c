package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// AdminClient is a Controller that talks to a running agent's admin API.
type AdminClient struct {
	BaseURL string // e.g. http://127.0.0.1:8720
	Token   string
	HTTP    *http.Client
}

var _ Controller = (*AdminClient)(nil)

// ErrNoAgent means no agent answered on the admin address.
var ErrNoAgent = errors.New("no agent answers on the admin address")

// Ping tells whether an agent answers on the admin address within timeout.
func (c *AdminClient) Ping(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := c.client().Do(req)
	if err != nil {
		if errors.Is(err, ErrNotTheAgent) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrNoAgent, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: /healthz answered %s", ErrNoAgent, resp.Status)
	}
	return nil
}

func (c *AdminClient) client() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *AdminClient) do(ctx context.Context, method, path string, q url.Values, out any) error {
	return c.doBody(ctx, method, path, q, nil, out)
}

func (c *AdminClient) doBody(ctx context.Context, method, path string, q url.Values, in, out any) error {
	u := c.BaseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var reqBody io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		reqBody = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, reqBody)
	if err != nil {
		return err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		if e.Error == "" {
			e.Error = resp.Status
		}
		if resp.StatusCode == http.StatusNotFound {
			return fmt.Errorf("%w: %s", ErrUnknownInstance, e.Error)
		}
		return errors.New(e.Error)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("admin API: decode answer: %w", err)
	}
	return nil
}

func instancePath(name, suffix string) string {
	return "/v1/instances/" + url.PathEscape(name) + suffix
}

func idsQuery(ids []string) url.Values {
	if len(ids) == 0 {
		return nil
	}
	return url.Values{"id": ids}
}

// Status implements Controller.
func (c *AdminClient) Status(ctx context.Context) (Status, error) {
	var s Status
	err := c.do(ctx, http.MethodGet, "/v1/status", nil, &s)
	return s, err
}

// Poll implements Controller.
func (c *AdminClient) Poll(ctx context.Context, instance string) (PollResult, error) {
	var r PollResult
	err := c.do(ctx, http.MethodPost, instancePath(instance, "/poll"), nil, &r)
	return r, err
}

// Resync implements Controller.
func (c *AdminClient) Resync(ctx context.Context, instance string) (PollResult, error) {
	var r PollResult
	err := c.do(ctx, http.MethodPost, instancePath(instance, "/resync"), nil, &r)
	return r, err
}

// Dead implements Controller.
func (c *AdminClient) Dead(ctx context.Context, instance string) ([]DeadLetter, error) {
	var dl []DeadLetter
	err := c.do(ctx, http.MethodGet, instancePath(instance, "/dead"), nil, &dl)
	return dl, err
}

// Replay implements Controller.
func (c *AdminClient) Replay(ctx context.Context, instance string, ids []string) (int, error) {
	var r struct {
		Replayed int `json:"replayed"`
	}
	err := c.do(ctx, http.MethodPost, instancePath(instance, "/dead/replay"), idsQuery(ids), &r)
	return r.Replayed, err
}

// Purge implements Controller.
func (c *AdminClient) Purge(ctx context.Context, instance string, ids []string) (int, error) {
	var r struct {
		Purged int `json:"purged"`
	}
	err := c.do(ctx, http.MethodDelete, instancePath(instance, "/dead"), idsQuery(ids), &r)
	return r.Purged, err
}

// SaveToken implements TokenSaver.
func (c *AdminClient) SaveToken(ctx context.Context, instance string, t Token) error {
	return c.doBody(ctx, http.MethodPut, instancePath(instance, "/token"), nil, t, nil)
}

// Check implements Checker: the running agent checks with its own sign-in,
// network and secrets.
func (c *AdminClient) Check(ctx context.Context, instance string) ([]CheckStep, error) {
	var steps []CheckStep
	err := c.do(ctx, http.MethodPost, instancePath(instance, "/check"), nil, &steps)
	return steps, err
}
