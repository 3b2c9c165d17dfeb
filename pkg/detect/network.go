package detect

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
)

// adminPorts are remote-administration ports: SSH and RDP, which CIS AWS Foundations v3.0 5.2
// and 5.3 name as the "remote server administration ports" never to open to 0.0.0.0/0 or ::/0,
// and Telnet, VNC and WinRM (HTTP and HTTPS), which give the same control of a machine.
var adminPorts = map[int]string{22: "SSH", 23: "Telnet", 3389: "RDP", 5900: "VNC", 5985: "WinRM", 5986: "WinRM over HTTPS"}

// anywhere reports whether a CIDR block is the whole IPv4 or IPv6 internet (any /0).
func anywhere(cidr string) bool {
	p, err := netip.ParsePrefix(strings.TrimSpace(cidr))
	return err == nil && p.Bits() == 0
}

// portsOpened describes which admin ports a protocol and port range open, "" for none.
// Protocol "-1" (all traffic), or TCP or UDP with no range or a range of -1, means every port.
func portsOpened(protocol string, from, to *int) string {
	switch strings.ToLower(protocol) {
	case "-1", "all":
		return "every port"
	case "tcp", "6", "udp", "17":
	default:
		return "" // ICMP and other protocols carry no ports
	}
	if from == nil || to == nil || *from == -1 || *to == -1 {
		return "every port"
	}
	var open []int
	for p := range adminPorts {
		if *from <= p && p <= *to {
			open = append(open, p)
		}
	}
	if len(open) == 0 {
		return ""
	}
	slices.Sort(open)
	var names []string
	for _, p := range open {
		names = append(names, fmt.Sprintf("%d (%s)", p, adminPorts[p]))
	}
	return "port " + strings.Join(names, ", ")
}

type ipRange struct {
	CidrIP   string `json:"cidrIp"`
	CidrIPv6 string `json:"cidrIpv6"`
}

type ipPermission struct {
	IPProtocol string `json:"ipProtocol"`
	FromPort   *int   `json:"fromPort"`
	ToPort     *int   `json:"toPort"`
	IPRanges   struct {
		Items []ipRange `json:"items"`
	} `json:"ipRanges"`
	IPv6Ranges struct {
		Items []ipRange `json:"items"`
	} `json:"ipv6Ranges"`
}

// securityGroupChanged is CIS 4.10. An ingress rule that opens an admin port (or all traffic) to
// 0.0.0.0/0 or ::/0 is high, any other opening to the whole internet medium, everything else
// low. CloudTrail records AuthorizeSecurityGroupIngress in two shapes: ipPermissions.items[]
// with ipRanges.items[].cidrIp and ipv6Ranges.items[].cidrIpv6, or the older flat cidrIp,
// ipProtocol, fromPort and toPort.
// Reference: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AuthorizeSecurityGroupIngress.html
func securityGroupChanged(rec *cloudtrail.Record, f *Finding) bool {
	var req struct {
		GroupID       string `json:"groupId"`
		GroupName     string `json:"groupName"`
		IPPermissions struct {
			Items []ipPermission `json:"items"`
		} `json:"ipPermissions"`
		CidrIP     string `json:"cidrIp"`
		IPProtocol string `json:"ipProtocol"`
		FromPort   *int   `json:"fromPort"`
		ToPort     *int   `json:"toPort"`
	}
	var resp struct {
		GroupID string `json:"groupId"`
	}
	_ = rec.Param(&req)
	_ = rec.Response(&resp)
	group := req.GroupID
	if group == "" {
		group = resp.GroupID
	}
	if strings.HasPrefix(group, "sg-") {
		f.Target = "arn:" + rec.Partition() + ":ec2:" + rec.AWSRegion + ":" + rec.Account() + ":security-group/" + group
	}
	if group == "" {
		group = req.GroupName
	}
	sg := named("security group", group)
	base, what := Low, ""
	switch rec.EventName {
	case "AuthorizeSecurityGroupIngress":
		perms := req.IPPermissions.Items
		if req.CidrIP != "" {
			p := ipPermission{IPProtocol: req.IPProtocol, FromPort: req.FromPort, ToPort: req.ToPort}
			p.IPRanges.Items = []ipRange{{CidrIP: req.CidrIP}}
			perms = append(perms, p)
		}
		what = "added inbound rules to " + sg
		for _, p := range perms {
			var open []string
			for _, r := range append(p.IPRanges.Items, p.IPv6Ranges.Items...) {
				if c := r.CidrIP + r.CidrIPv6; anywhere(c) {
					open = append(open, c)
				}
			}
			if len(open) == 0 {
				continue
			}
			world := strings.Join(open, " and ")
			if ports := portsOpened(p.IPProtocol, p.FromPort, p.ToPort); ports != "" {
				base, what = High, fmt.Sprintf("opened %s of %s to %s", ports, sg, world)
				break
			}
			base, what = Medium, fmt.Sprintf("opened %s of %s to %s", portText(p), sg, world)
		}
	case "CreateSecurityGroup":
		what = "created " + sg
	case "DeleteSecurityGroup":
		what = "deleted " + sg
	default:
		what = fmt.Sprintf("changed the rules of %s (%s)", sg, rec.EventName)
	}
	why := "CIS 4.10 asks that every change to what may reach the account's instances be seen"
	if base == High {
		why = "remote administration open to the whole internet is the most scanned and brute-forced door there is"
	} else if base == Medium {
		why = "anything listening there can now be reached from the whole internet"
	}
	f.Severity = grade(base, rec)
	f.Why = fmt.Sprintf("%s %s%s%s; %s.", f.Actor.Name, what, failedClause(rec), byService(rec), why)
	if base >= Medium {
		id := group
		if id == "" {
			id = "<group>"
		}
		f.Manual = fmt.Sprintf("If nobody agreed to it, revoke the rule: aws ec2 revoke-security-group-ingress --group-id %s with the same permissions.", id)
	}
	if rec.IsRoot() {
		f.Manual = strings.TrimSpace(f.Manual + " " + rootManual)
	}
	return true
}

func portText(p ipPermission) string {
	switch {
	case p.FromPort == nil || p.ToPort == nil:
		return p.IPProtocol + " traffic"
	case *p.FromPort == *p.ToPort:
		return p.IPProtocol + " port " + strconv.Itoa(*p.FromPort)
	default:
		return fmt.Sprintf("%s ports %d-%d", p.IPProtocol, *p.FromPort, *p.ToPort)
	}
}

// ec2Target is the ARN of an EC2 resource of kind (vpc, network-acl, …) with id, or "".
func ec2Target(rec *cloudtrail.Record, kind, id string) string {
	if id == "" {
		return ""
	}
	return "arn:" + rec.Partition() + ":ec2:" + rec.AWSRegion + ":" + rec.Account() + ":" + kind + "/" + id
}

// networkFinding fills in a finding about a network change with the shared sentence.
func networkFinding(rec *cloudtrail.Record, f *Finding, base Severity, what, why string) bool {
	f.Severity = grade(base, rec)
	f.Why = fmt.Sprintf("%s %s%s%s; %s.", f.Actor.Name, what, failedClause(rec), byService(rec), why)
	if rec.IsRoot() {
		f.Manual = rootManual
	}
	return true
}

// naclChanged is CIS 4.11. An entry allowing inbound traffic from the whole internet to an admin
// port is medium (security groups still stand behind network ACLs); other changes low.
func naclChanged(rec *cloudtrail.Record, f *Finding) bool {
	var req struct {
		NetworkACLID  string `json:"networkAclId"`
		AssociationID string `json:"associationId"`
		RuleAction    string `json:"ruleAction"`
		Egress        bool   `json:"egress"`
		CidrBlock     string `json:"cidrBlock"`
		IPv6CidrBlock string `json:"ipv6CidrBlock"`
		Protocol      string `json:"aclProtocol"`
		PortRange     *struct {
			From *int `json:"from"`
			To   *int `json:"to"`
		} `json:"portRange"`
	}
	_ = rec.Param(&req)
	f.Target = ec2Target(rec, "network-acl", req.NetworkACLID)
	acl := named("network ACL", req.NetworkACLID)
	base, what := Low, fmt.Sprintf("changed %s (%s)", acl, rec.EventName)
	why := "network ACLs are the subnet-wide filter beneath security groups, and CIS 4.11 asks that every change be seen"
	if (rec.EventName == "CreateNetworkAclEntry" || rec.EventName == "ReplaceNetworkAclEntry") &&
		req.RuleAction == "allow" && !req.Egress && (anywhere(req.CidrBlock) || anywhere(req.IPv6CidrBlock)) {
		var from, to *int
		if req.PortRange != nil {
			from, to = req.PortRange.From, req.PortRange.To
		}
		if ports := portsOpened(req.Protocol, from, to); ports != "" {
			base = Medium
			what = fmt.Sprintf("allowed inbound traffic to %s from the whole internet in %s", ports, acl)
			why = "only the security groups now stand between remote administration and the internet"
		}
	}
	return networkFinding(rec, f, base, what, why)
}

// gatewayChanged is CIS 4.12. Attaching an internet gateway gives a VPC a way in from the
// internet and ranks medium; other gateway changes low.
func gatewayChanged(rec *cloudtrail.Record, f *Finding) bool {
	var req struct {
		InternetGatewayID string `json:"internetGatewayId"`
		CustomerGatewayID string `json:"customerGatewayId"`
		VPCID             string `json:"vpcId"`
	}
	_ = rec.Param(&req)
	gw := req.InternetGatewayID + req.CustomerGatewayID
	if req.InternetGatewayID != "" {
		f.Target = ec2Target(rec, "internet-gateway", req.InternetGatewayID)
	} else {
		f.Target = ec2Target(rec, "customer-gateway", req.CustomerGatewayID)
	}
	if rec.EventName == "AttachInternetGateway" {
		return networkFinding(rec, f, Medium, fmt.Sprintf("attached %s to %s", named("internet gateway", gw), named("VPC", req.VPCID)),
			"the VPC's subnets can now be routed to and from the internet")
	}
	return networkFinding(rec, f, Low, strings.TrimSpace(fmt.Sprintf("changed gateways (%s) %s", rec.EventName, gw)),
		"gateways decide which networks reach the VPC, and CIS 4.12 asks that every change be seen")
}

// routeTableChanged is CIS 4.13. A default route (0.0.0.0/0 or ::/0) created or replaced sends
// all outside traffic a new way and ranks medium; other changes low.
func routeTableChanged(rec *cloudtrail.Record, f *Finding) bool {
	var req struct {
		RouteTableID string `json:"routeTableId"`
		Destination  string `json:"destinationCidrBlock"`
		Destination6 string `json:"destinationIpv6CidrBlock"`
		GatewayID    string `json:"gatewayId"`
	}
	_ = rec.Param(&req)
	f.Target = ec2Target(rec, "route-table", req.RouteTableID)
	if (rec.EventName == "CreateRoute" || rec.EventName == "ReplaceRoute") && (anywhere(req.Destination) || anywhere(req.Destination6)) {
		via := ""
		if req.GatewayID != "" {
			via = " through " + req.GatewayID
		}
		return networkFinding(rec, f, Medium, fmt.Sprintf("pointed the default route of %s%s", named("route table", req.RouteTableID), via),
			"all traffic to the outside world from its subnets now takes that path")
	}
	return networkFinding(rec, f, Low, fmt.Sprintf("changed %s (%s)", named("route table", req.RouteTableID), rec.EventName),
		"routes decide where the VPC's traffic goes, and CIS 4.13 asks that every change be seen")
}

// vpcChanged is CIS 4.14. Peering connects the VPC to another network, possibly another
// account's, and ranks medium; other changes low.
func vpcChanged(rec *cloudtrail.Record, f *Finding) bool {
	var req struct {
		VPCID       string `json:"vpcId"`
		PeerVPCID   string `json:"peerVpcId"`
		PeerOwnerID string `json:"peerOwnerId"`
		PeeringID   string `json:"vpcPeeringConnectionId"`
	}
	_ = rec.Param(&req)
	f.Target = ec2Target(rec, "vpc", req.VPCID)
	switch rec.EventName {
	case "CreateVpcPeeringConnection", "AcceptVpcPeeringConnection":
		if req.PeeringID != "" {
			f.Target = ec2Target(rec, "vpc-peering-connection", req.PeeringID)
		}
		var parts []string
		if req.VPCID != "" {
			parts = append(parts, "of "+req.VPCID)
		}
		if peer := strings.TrimSpace(req.PeerVPCID + " " + req.PeeringID); peer != "" {
			parts = append(parts, "with "+peer)
		}
		if req.PeerOwnerID != "" && req.PeerOwnerID != rec.Account() {
			parts = append(parts, "in account "+req.PeerOwnerID)
		}
		if len(parts) == 0 {
			parts = append(parts, "the record does not name")
		}
		verb := "requested"
		if rec.EventName == "AcceptVpcPeeringConnection" {
			verb = "accepted"
		}
		return networkFinding(rec, f, Medium, fmt.Sprintf("%s a VPC peering %s", verb, strings.Join(parts, " ")),
			"a peered network can reach the VPC's instances as if it were inside it")
	}
	return networkFinding(rec, f, Low, fmt.Sprintf("changed %s (%s)", named("VPC", req.VPCID), rec.EventName),
		"the VPC is the boundary of the account's network, and CIS 4.14 asks that every change be seen")
}
