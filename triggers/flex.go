package triggers

import (
	"encoding/json"
	"errors"
	"strings"
)

// FlexString is an id that a payload writes as a JSON string or a bare
// number: helpdesk event bodies carry numbers, their placeholders
// ("{{ticket.id}}") render strings. Surrounding spaces are dropped.
type FlexString string

// UnmarshalJSON accepts a string, a number or null.
func (f *FlexString) UnmarshalJSON(data []byte) error {
	switch {
	case string(data) == "null":
		*f = ""
	case len(data) > 0 && data[0] == '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*f = FlexString(strings.TrimSpace(s))
	case len(data) > 0 && (data[0] == '-' || (data[0] >= '0' && data[0] <= '9')):
		*f = FlexString(data)
	default:
		return errors.New("an id must be a string or a number")
	}
	return nil
}

// String returns the id.
func (f FlexString) String() string { return string(f) }
