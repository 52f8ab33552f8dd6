package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
)

// decode reads a JSON body strictly: one object, no unknown fields, within
// the size limit. Every failure names what was wrong.
func (s *Server) decode(c *call, v any) error {
	if ct := c.r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return api.E(api.CodeUnsupportedMediaType, "Send the body as application/json, not %q.", ct)
		}
	}
	body := http.MaxBytesReader(c.w, c.r.Body, s.cfg.MaxBodyBytes)
	dec := json.NewDecoder(body)
	// One value first, then strictly into v: a null would otherwise decode
	// into v as an empty object.
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return jsonError(err, s.cfg.MaxBodyBytes)
	}
	if string(raw) == "null" {
		return api.E(api.CodeBadRequest, "The body must be a JSON object, not null.")
	}
	strict := json.NewDecoder(bytes.NewReader(raw))
	strict.DisallowUnknownFields()
	if err := strict.Decode(v); err != nil {
		return jsonError(err, s.cfg.MaxBodyBytes)
	}
	if dec.More() {
		return api.E(api.CodeBadRequest, "The body holds more than one JSON value; send exactly one object.")
	}
	if _, err := dec.Token(); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return jsonError(err, s.cfg.MaxBodyBytes)
		}
		return api.E(api.CodeBadRequest, "The body has trailing data after the JSON object.")
	}
	return nil
}

func jsonError(err error, limit int64) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return api.E(api.CodePayloadTooLarge, "The body is larger than the %d-byte limit.", limit)
	case errors.Is(err, io.EOF):
		return api.E(api.CodeBadRequest, "The body is empty; send a JSON object.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return api.E(api.CodeBadRequest, "The JSON body ends too early.")
	case errors.As(err, &syn):
		return api.E(api.CodeBadRequest, "The body is not valid JSON (at byte %d).", syn.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return api.E(api.CodeBadRequest, "The body must be a JSON object, not %s.", typ.Value)
		}
		return api.Invalid(field, "%s must be %s, not %s.", field, kindName(typ.Type.String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return api.Invalid(field, "Unknown field %q.", field)
	}
	var te *time.ParseError
	if errors.As(err, &te) {
		return api.E(api.CodeInvalidValue, "A date is not in RFC 3339 form (like 2026-11-23T09:00:00Z).")
	}
	return api.E(api.CodeBadRequest, "The body could not be read as JSON.")
}

func kindName(goType string) string {
	switch {
	case strings.Contains(goType, "int"):
		return "a whole number"
	case strings.Contains(goType, "bool"):
		return "true or false"
	case strings.Contains(goType, "string"):
		return "a string"
	case strings.HasPrefix(goType, "[]"), strings.HasPrefix(goType, "*[]"):
		return "a list"
	case strings.Contains(goType, "Time"):
		return "an RFC 3339 date"
	}
	return "an object"
}
