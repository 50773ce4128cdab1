package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// secretFile keeps the secrets supportbot generated for triggers whose
// config left them empty, so that the shipped config.yaml holds no publicly
// known secret and `supportbot send` can sign with the same one.
type secretFile struct {
	path   string
	values map[string]string
}

func secretsPath(storagePath string) string {
	return filepath.Join(filepath.Dir(storagePath), "secrets.json")
}

func loadSecrets(path string) (*secretFile, error) {
	sf := &secretFile{path: path, values: map[string]string{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return sf, nil
	} else if err != nil {
		return nil, fmt.Errorf("read secrets: %w", err)
	}
	if err := json.Unmarshal(b, &sf.values); err != nil {
		return nil, fmt.Errorf("read secrets %s: %w", path, err)
	}
	return sf, nil
}

func (sf *secretFile) save() error {
	if err := os.MkdirAll(filepath.Dir(sf.path), 0o700); err != nil {
		return fmt.Errorf("save secrets: %w", err)
	}
	b, _ := json.MarshalIndent(sf.values, "", "  ")
	tmp := sf.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("save secrets: %w", err)
	}
	if err := os.Rename(tmp, sf.path); err != nil {
		return fmt.Errorf("save secrets: %w", err)
	}
	return nil
}

// get returns the stored secret for key, generating it with gen when absent.
func (sf *secretFile) get(key string, gen func() string) (string, bool) {
	if v, ok := sf.values[key]; ok {
		return v, false
	}
	v := gen()
	sf.values[key] = v
	return v, true
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return b
}

// newWebhookSecret returns a Standard Webhooks secret: whsec_ + base64 of 32 random bytes.
func newWebhookSecret() string {
	return "whsec_" + base64.StdEncoding.EncodeToString(randomBytes(32))
}

func newToken() string { return hex.EncodeToString(randomBytes(32)) }

// fillSecrets sets every empty inbound secret (and outbound webhook secret)
// of the kinds whose secret we may choose (standard, web, hmac, token, and
// chatwoot unless allow_ips admits unsigned webhooks) from the secrets file, generating and saving those that are missing. It
// returns the keys it generated.
func fillSecrets(cfg *Config) ([]string, error) {
	sf, err := loadSecrets(secretsPath(cfg.Storage.Path))
	if err != nil {
		return nil, err
	}
	var made []string
	for i := range cfg.Triggers {
		t := &cfg.Triggers[i]
		prefix := "triggers." + t.Name
		switch t.Kind {
		case "standard", "web":
			if t.Secret == "" && len(t.Secrets) == 0 {
				v, n := sf.get(prefix+".secret", newWebhookSecret)
				t.Secret = v
				if n {
					made = append(made, prefix+".secret")
				}
			}
		case "hmac":
			if t.Secret == "" && len(t.Secrets) == 0 {
				v, n := sf.get(prefix+".secret", newToken)
				t.Secret = v
				if n {
					made = append(made, prefix+".secret")
				}
			}
		case "chatwoot":
			// Unsigned Chatwoot webhooks are accepted only from allow_ips;
			// without that a secret is generated, so that the trigger never
			// starts open to anyone. Chatwoot must then sign with it.
			if len(t.AllSecrets()) == 0 && len(t.AllowIPs) == 0 {
				v, n := sf.get(prefix+".secret", newToken)
				t.Secret = v
				if n {
					made = append(made, prefix+".secret")
				}
			}
		case "token":
			if t.Token == "" && len(t.Secrets) == 0 {
				v, n := sf.get(prefix+".token", newToken)
				t.Token = v
				if n {
					made = append(made, prefix+".token")
				}
			}
		}
		if t.Reply.Kind == "webhook" && t.Reply.Secret == "" {
			v, n := sf.get(prefix+".reply.secret", newWebhookSecret)
			t.Reply.Secret = v
			if n {
				made = append(made, prefix+".reply.secret")
			}
		}
	}
	if len(made) > 0 {
		if err := sf.save(); err != nil {
			return nil, err
		}
	}
	return made, nil
}
