package agent

import (
	"fmt"
	"net/http"

	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
	"github.com/onedrive-agent/onedrive-agent/connector"
	"github.com/onedrive-agent/onedrive-agent/sink/webhook"
)

// newSender returns the sink of the instance's callback URL and its name
// (the sink label of the delivery metrics). httpClient carries [network];
// a callback ca_file gets its own client.
func (in *instance) newSender(httpClient *http.Client) (deliver.Sender, string, error) {
	ic := in.cfg
	if ic.Callback.CAFile != "" {
		// A private PKI for the receiver: its CA file replaces [network].ca_file
		// for callbacks (the system roots stay trusted).
		var err error
		httpClient, err = connector.NewHTTPClient(connector.HTTPOptions{
			Proxy: proxyString(in.a.cfg), CAFile: ic.Callback.CAFile, Timeout: ic.Callback.Timeout,
		})
		if err != nil {
			return nil, "", fmt.Errorf("instance %s: callback: %w", ic.Name, err)
		}
	}
	headers := map[string]string{}
	for k := range ic.Callback.Headers {
		headers[k] = ic.Callback.Headers.Get(k)
	}
	s, err := webhook.New(webhook.Config{
		Instance:      ic.Name,
		URL:           ic.Callback.URL,
		SignatureKey:  ic.Callback.SignatureKey,
		WebhookSecret: ic.Callback.WebhookSecret,
		Headers:       headers,
		Version:       in.a.version,
		Timeout:       ic.Callback.Timeout,
	}, httpClient)
	return s, "webhook", err
}
