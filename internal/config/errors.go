package config

import (
	"errors"
	"fmt"
	"strings"
)

// FieldError is one problem in one object's field.
type FieldError struct {
	// Kind and Name identify the object, such as IPAddressPool "blue".
	Kind, Name string
	// Field is the path of the field at fault, such as spec.addresses[1].
	Field string
	// Message says what is wrong, and if it can, what to do.
	Message string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s %q: %s: %s", e.Kind, e.Name, e.Field, e.Message)
}

// Errors collects every problem Parse found; Error lists them one per line.
type Errors []*FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// AsErrors returns the FieldErrors inside err, if it holds any.
func AsErrors(err error) (Errors, bool) {
	var es Errors
	if errors.As(err, &es) {
		return es, true
	}
	return nil, false
}

func (es *Errors) add(kind, name, field, format string, args ...any) {
	*es = append(*es, &FieldError{Kind: kind, Name: name, Field: field, Message: fmt.Sprintf(format, args...)})
}
