package freshdesk

import (
	"encoding/json"
	"errors"
	"strings"
)

// flexString is a value that a template may write as a JSON string
// ("{{ticket.id}}") or a bare number ({{ticket.id}}).
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
		return errors.New("must be a string or a number")
	}
	return nil
}

func (f flexString) String() string { return string(f) }

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
