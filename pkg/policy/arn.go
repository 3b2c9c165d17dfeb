package policy

import "strings"

// SameARN reports whether two ARNs name the same principal or resource: IAM user, group and role
// names (the last part of arn:PARTITION:iam::ACCOUNT:user|group|role/PATH/NAME) are compared
// without regard to case, because IAM does not tell names apart by case ("you cannot create
// resources named both MyResource and myresource"); the partition, account, resource type and
// path, and every other ARN, are compared exactly. So an allow or protect entry for break-glass
// also covers BREAK-GLASS, which is the same user.
// Reference: https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateUser.html
func SameARN(a, b string) bool {
	if a == b {
		return true
	}
	pa, pb := strings.SplitN(a, ":", 6), strings.SplitN(b, ":", 6)
	if len(pa) != 6 || len(pb) != 6 || pa[0] != "arn" || pa[2] != "iam" {
		return false
	}
	for i := range 5 {
		if pa[i] != pb[i] {
			return false
		}
	}
	ra, rb := pa[5], pb[5]
	kind, _, _ := strings.Cut(ra, "/")
	if kind != "user" && kind != "group" && kind != "role" {
		return false
	}
	ia, ib := strings.LastIndexByte(ra, '/'), strings.LastIndexByte(rb, '/')
	return ia > 0 && ib > 0 && ra[:ia] == rb[:ib] && strings.EqualFold(ra[ia+1:], rb[ib+1:])
}
