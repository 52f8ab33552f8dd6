package server

// Fuzz targets for the staging routes and on-behalf registration, with
// the same checks on every answer as fuzz_test.go's.

import (
	"net/url"
	"strings"
	"testing"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
)

// stagingFuzzEnv is a fuzzEnv with people to stage: three in group
// Sales, and a global administrator.
func stagingFuzzEnv(f *testing.F) *fuzzEnv {
	fe := newFuzzEnv(f)
	for _, u := range []string{"ada@example.com", "bob@example.com", "cy@example.com"} {
		fe.addUser(api.User{UserPrincipalName: u, Groups: []string{"Sales"}})
	}
	fe.addUser(api.User{UserPrincipalName: "boss@example.com", AdminRole: api.RoleGlobalAdministrator})
	return fe
}

func FuzzCreateStagingBatch(f *testing.F) {
	fe := stagingFuzzEnv(f)
	fe.fuzzJSON(f, "POST", "/v1/stagingBatches", fe.asAdmin(), append(notAnObject,
		`{"name":"north","users":[{"userPrincipalName":"ada@example.com","keyName":"Ada's key"},{"userPrincipalName":"BOB@example.com","displayName":"Bob B"}]}`,
		`{"name":"sales","group":"sales"}`,
		`{"name":"both","group":"Sales","users":[{"userPrincipalName":"cy@example.com"}]}`,
		`{"name":"none"}`,
		`{"name":"","users":[{"userPrincipalName":"cy@example.com"}]}`,
		`{"name":"`+strings.Repeat("n", 65)+`","users":[{"userPrincipalName":"cy@example.com"}]}`,
		`{"name":"dup","users":[{"userPrincipalName":"cy@example.com"},{"userPrincipalName":"Cy@Example.com"}]}`,
		`{"name":"who","users":[{"userPrincipalName":"nobody@example.com"},{"userPrincipalName":"bad upn"},{"userPrincipalName":"boss@example.com"}]}`,
		`{"name":"esc","users":[{"userPrincipalName":"cy@example.com","displayName":"C\u001b[31m","keyName":"k\u0000"}]}`,
		`{"name":"g","group":"nobody's group"}`,
		`{"name":"g","group":""}`,
		`{"name":"n","users":null,"group":null}`,
		`{"name":"n","users":[{}]}`,
		`{"name":"n","users":[{"userPrincipalName":"cy@example.com","state":"registered"}]}`,
		`{"name":1,"users":"cy@example.com"}`,
	)...)
}

// FuzzImportStagingBatch fuzzes the staging CSV and the batch's name.
func FuzzImportStagingBatch(f *testing.F) {
	fe := stagingFuzzEnv(f)
	for _, s := range []string{
		"upn,displayName,keyName\nada@example.com,Ada L,Ada's key\nbob@example.com,,\n",
		"cy@example.com\n",
		"\ufeffuserPrincipalName,displayName,keyName\r\ncy@example.com,\"Cy, the\",\"k\"\"ey\"\r\n",
		"ada@example.com,A,k,extra\n",
		"nobody@example.com\nbad upn\nboss@example.com\ncy@example.com\ncy@example.com\n",
		"cy@example.com,\"C\x1b[31m\",k\n",
		"\"unterminated,x\n",
		"upn\n",
		"",
		"\n\n",
		"a\"b@example.com,x\n",
	} {
		f.Add([]byte(s), "csv")
	}
	f.Add([]byte("cy@example.com\n"), "")
	f.Add([]byte("cy@example.com\n"), " ")
	f.Add([]byte("cy@example.com\n"), strings.Repeat("n", 65))
	f.Add([]byte("cy@example.com\n"), "x\x00y")
	f.Fuzz(func(t *testing.T, body []byte, name string) {
		path := "/v1/stagingBatches/import?" + url.Values{"name": {name}}.Encode()
		fe.check(t, "POST "+path, body, fe.serve("POST", path, "text/csv", body, fe.asAdmin()))
	})
}

// FuzzPatchStagingRow fuzzes a row's patch; which picks the row: one of
// a batch's two, or one that is not there.
func FuzzPatchStagingRow(f *testing.F) {
	fe := stagingFuzzEnv(f)
	b, err := fe.admin.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: "patch",
		Users: []api.StagingPerson{{UserPrincipalName: "ada@example.com"}, {UserPrincipalName: "bob@example.com"}}})
	if err != nil {
		f.Fatal(err)
	}
	rows := []string{b.Rows[0].ID, b.Rows[1].ID, "00000000-0000-0000-0000-000000000000"}
	for _, s := range append(notAnObject,
		`{}`,
		`{"state":"failed","failureReason":"key would not reset"}`,
		`{"state":"pending"}`,
		`{"state":"registered"}`,
		`{"state":"lost"}`,
		`{"failureReason":"no state"}`,
		`{"state":"failed","failureReason":"`+strings.Repeat("r", 300)+`"}`,
		`{"state":"failed","failureReason":"esc\u001b[31m"}`,
		`{"serialNumber":"SN123","pinChangeForced":true}`,
		`{"serialNumber":"","pinChangeForced":false}`,
		`{"serialNumber":"`+strings.Repeat("9", 200)+`"}`,
		`{"state":null,"failureReason":null}`,
		`{"state":1}`,
		`{"methodId":"x"}`,
	) {
		for i := range rows {
			f.Add(uint8(i), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		path := "/v1/stagingBatches/" + b.ID + "/rows/" + rows[int(which)%len(rows)]
		fe.send(t, "PATCH", path, body, fe.asAdmin())
	})
}

// FuzzRegisterForUser fuzzes on-behalf registration, POST
// /v1/users/{upn}/fido2Methods with an admin token, as FuzzRegisterFIDO2
// does the kiosk's: the answers are real ones a key gave to an operator's
// options for that person, and the body may name a batch and row.
func FuzzRegisterForUser(f *testing.F) {
	fe := stagingFuzzEnv(f)
	const upn = "cy@example.com"
	b, err := fe.admin.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: "onbehalf", Users: []api.StagingPerson{{UserPrincipalName: upn}}})
	if err != nil {
		f.Fatal(err)
	}
	path, _ := plugKey(f, virtualkey.Options{})
	pathNone, _ := plugKey(f, virtualkey.Options{Attestation: "none"})
	cf := &ceremonyFuzz{fuzzEnv: fe, session: fe.asAdmin(),
		packed: newKeyAnswer(f, stagedAnswer(f, fe.admin, upn, path, "", "")),
		none:   newKeyAnswer(f, stagedAnswer(f, fe.admin, upn, pathNone, "", ""))}
	bodyWith := func(r api.StagedFIDO2Request, a keyAnswer) []byte {
		r.PublicKeyCredential = a.with(map[string]string{"clientDataJSON": clientDataHole})
		return []byte(mustJSON(r))
	}
	for i, a := range []keyAnswer{cf.packed, cf.none} {
		p := uint8(i)
		f.Add(p, bodyWith(api.StagedFIDO2Request{}, a))
		f.Add(p, bodyWith(api.StagedFIDO2Request{RegisterFIDO2Request: api.RegisterFIDO2Request{DisplayName: "Cy's key", KeyModel: "Virtual Key 5"},
			SerialNumber: "SN1", PINChangeForced: true}, a))
		f.Add(p, bodyWith(api.StagedFIDO2Request{StagingBatchID: b.ID, StagingRowID: b.Rows[0].ID}, a))
		f.Add(p, bodyWith(api.StagedFIDO2Request{StagingBatchID: b.ID}, a))
		f.Add(p, bodyWith(api.StagedFIDO2Request{StagingBatchID: "onbehalf", StagingRowID: "nope", SerialNumber: strings.Repeat("s", 300)}, a))
		f.Add(p, credentialBody(a.raw)) // the key's own answer, to a challenge still waiting
		ao := a.field("attestationObject")
		f.Add(p+2, ao)
		f.Add(p+2, ao[:len(ao)/2])
		f.Add(p+4, a.cd)
		f.Add(p+4, []byte(strings.Replace(string(a.cd), "webauthn.create", "webauthn.get", 1)))
	}
	for _, s := range []string{`{}`, `null`, `{"publicKeyCredential":null}`, `{"publicKeyCredential":{}}`,
		`{"publicKeyCredential":{"response":{"clientDataJSON":"$CLIENTDATA"}},"stagingBatchId":"` + b.ID + `"}`,
		`{"stagingBatchId":1}`, `{"pinChangeForced":"yes"}`} {
		f.Add(uint8(0), []byte(s))
	}
	cf.fuzz(f, "/v1/users/"+upn+"/fido2Methods/creationOptions", "/v1/users/"+upn+"/fido2Methods",
		func() any { return &api.StagedFIDO2Request{} }, cf.none, cf.registration)
}
