package zendesk

import (
	"encoding/json"
	"errors"
	"strings"
)

// flexString is an id that Zendesk writes as a JSON number (event bodies)
// or a string (placeholders, and ids in some event bodies).
type flexString string

func (f *flexString) UnmarshalJSON(data []byte) error {
	switch {
	case string(data) == "null":
		*f = ""
	case data[0] == '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*f = flexString(strings.TrimSpace(s))
	case data[0] == '-' || (data[0] >= '0' && data[0] <= '9'):
		*f = flexString(data)
	default:
		return errors.New("an id must be a string or a number")
	}
	return nil
}

func (f flexString) String() string { return string(f) }

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
