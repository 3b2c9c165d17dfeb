#!/usr/bin/env python3
"""Translate a SAM template to plain CloudFormation with the AWS SAM translator, offline.

    scripts/sam-translate.py [--region R] [--account-id N] [--code-uri s3://B/K] [--param K=V ...] template.yaml
    scripts/sam-translate.py [...] --param-sets FILE template.yaml

prints the translated template as JSON: what `sam deploy` hands CloudFormation, so that it
can be created in moto_server's CloudFormation (internal/templatecheck). With --param-sets
(a JSON list of {"Key": "value"} objects) it translates once per set and prints a JSON list,
in one process: importing the translator takes longer than translating. The translator runs
with a fake boto3 session (region and account from the flags, no credentials, no network)
and no managed-policy lookups, which would call IAM: the template names no SAM policy
templates or managed policies by name (internal/templatecheck holds it to that). Local
CodeUri values are replaced by --code-uri, as `sam package` replaces them with the S3
location it uploads to.
"""

import argparse
import json
import sys

import boto3
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("template")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--account-id", default="123456789012")
    ap.add_argument("--code-uri", default="s3://iam-watchdog-artifacts/code.zip",
                    help="S3 location that replaces local CodeUri values")
    ap.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                    help="a template parameter's value (the translator resolves a few, e.g. in conditions of generated resources)")
    ap.add_argument("--param-sets", metavar="FILE",
                    help="a JSON list of parameter sets; print one translation per set")
    args = ap.parse_args()

    params = {}
    for p in args.param:
        key, sep, value = p.partition("=")
        if not sep or not key:
            print(f"sam-translate: --param {p!r} is not KEY=VALUE", file=sys.stderr)
            return 2
        params[key] = value
    sets = [params]
    if args.param_sets:
        try:
            with open(args.param_sets, encoding="utf-8") as f:
                sets = json.load(f)
        except (OSError, ValueError) as e:
            print(f"sam-translate: read {args.param_sets}: {e}", file=sys.stderr)
            return 1
        if not isinstance(sets, list) or not all(isinstance(s, dict) for s in sets):
            print(f"sam-translate: {args.param_sets} is not a JSON list of objects", file=sys.stderr)
            return 2

    try:
        with open(args.template, encoding="utf-8") as f:
            source = f.read()
    except OSError as e:
        print(f"sam-translate: read {args.template}: {e}", file=sys.stderr)
        return 1
    out = []
    for values in sets:
        translated = translate(source, args, {**values})
        if translated is None:
            return 1
        out.append(translated)
    json.dump(out if args.param_sets else out[0], sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


def translate(source, args, params):
    """One translation of the template's text with these parameter values; None on error."""
    try:
        template = yaml_parse(source)
    except ValueError as e:
        print(f"sam-translate: parse {args.template}: {e}", file=sys.stderr)
        return None

    if not args.code_uri.startswith("s3://") or "/" not in args.code_uri[len("s3://"):]:
        print(f"sam-translate: --code-uri {args.code_uri!r} is not s3://BUCKET/KEY", file=sys.stderr)
        return None
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.get("Properties") or {}
        uri = props.get("CodeUri")
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(uri, str) and not uri.startswith("s3://"):
            props["CodeUri"] = args.code_uri

    # A session that only knows where it is: pseudo parameters (AWS::Region, AWS::Partition)
    # come from it, and nothing is ever called with it.
    session = boto3.session.Session(region_name=args.region, aws_access_key_id="offline",
                                    aws_secret_access_key="offline")
    params.setdefault("AWS::AccountId", args.account_id)
    translator = Translator(managed_policy_map=None, sam_parser=Parser(), boto_session=session)
    try:
        out = translator.translate(template, parameter_values=params, get_managed_policy_map=lambda: {})
    except Exception as e:  # the translator raises InvalidDocumentException and friends
        causes = getattr(e, "causes", None) or []
        detail = "; ".join(str(getattr(c, "message", c)) for c in causes) or str(e)
        print(f"sam-translate: {args.template}: {detail}", file=sys.stderr)
        return None
    return out


if __name__ == "__main__":
    sys.exit(main())
