package deliver

import "net/http"

// HTTPTransport returns the *http.Transport under a NewHTTPClient client.
func HTTPTransport(c *http.Client) *http.Transport { return c.Transport.(*userAgent).next }
