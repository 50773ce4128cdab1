package bot

import "time"

// RuntimeTrigger is a trigger created through the admin API rather than
// config.yaml. PreviousSecret stays valid until PreviousUntil after a
// rotation.
type RuntimeTrigger struct {
	Name           string    `json:"name"`
	Kind           string    `json:"kind"`
	Secret         string    `json:"-"`
	PreviousSecret string    `json:"-"`
	PreviousUntil  time.Time `json:"previous_secret_valid_until,omitzero"`
	ReplyKind      string    `json:"reply_kind"`
	ReplyURL       string    `json:"reply_url,omitempty"`
	ReplySecret    string    `json:"-"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}
