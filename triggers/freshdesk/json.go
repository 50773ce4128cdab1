package freshdesk

import (
	"encoding/json"
	"errors"
	"strings"
)

// tagList is the text of {{ticket.tags}}, tags separated by commas
// (Freshdesk tags may hold spaces), or a JSON array.
type tagList []string

func (l *tagList) UnmarshalJSON(data []byte) error {
	var tags []string
	switch {
	case string(data) == "null":
	case data[0] == '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		tags = strings.Split(s, ",")
	default:
		if err := json.Unmarshal(data, &tags); err != nil {
			return errors.New("tags must be a string or an array of strings")
		}
	}
	var out []string
	for _, t := range tags {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	*l = out
	return nil
}
