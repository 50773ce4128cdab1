package zendesk

import (
	"encoding/json"
	"errors"
	"strings"
)

// tagList is a ticket's tags: a JSON array (event bodies) or the text of
// {{ticket.tags}}, tags separated by spaces (Zendesk tags hold none).
type tagList []string

func (l *tagList) UnmarshalJSON(data []byte) error {
	switch {
	case string(data) == "null":
		*l = nil
	case data[0] == '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*l = strings.Fields(s)
	default:
		var tags []string
		if err := json.Unmarshal(data, &tags); err != nil {
			return errors.New("tags must be a string or an array of strings")
		}
		var out []string
		for _, t := range tags {
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, t)
			}
		}
		*l = out
	}
	return nil
}
