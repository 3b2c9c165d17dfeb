package audit

import (
	"reflect"
	"slices"
	"testing"
)

// TestRequiredActionsCoverClients: every method of the interfaces the audit calls AWS through
// is listed in RequiredActions, and nothing else is, so the list the templates grant cannot
// drift from the code.
func TestRequiredActionsCoverClients(t *testing.T) {
	var want []string
	for prefix, iface := range map[string]reflect.Type{
		"iam":           reflect.TypeFor[IAMAPI](),
		"sts":           reflect.TypeFor[STSAPI](),
		"cloudtrail":    reflect.TypeFor[TrailAPI](),
		"events":        reflect.TypeFor[EventsAPI](),
		"sqs":           reflect.TypeFor[SQSAPI](),
		"organizations": reflect.TypeFor[OrganizationsAPI](),
	} {
		for i := range iface.NumMethod() {
			want = append(want, prefix+":"+iface.Method(i).Name)
		}
	}
	slices.Sort(want)
	got := slices.Sorted(slices.Values(RequiredActions))
	if !slices.Equal(got, want) {
		t.Errorf("RequiredActions\n got %v\nwant %v", got, want)
	}
}
