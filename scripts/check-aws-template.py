#!/usr/bin/env python3
"""Holds deploy/aws/template.yaml to what Confab itself makes: runs `confab setup` against the
test DynamoDB (dynalite) under a namespace of its own, describes every table it made, and checks
the template declares the same tables with the same keys, attribute types and local indexes,
and no others. Usage: check-aws-template.py TEMPLATE CONFAB_BINARY (with the test servers'
CONFAB_TEST_* variables set). Needs PyYAML (cfn-lint brings it)."""
import json
import os
import subprocess
import sys
import urllib.request

import yaml


class CloudFormationLoader(yaml.SafeLoader):
    """Reads !Ref, !Sub, !GetAtt... as plain values: only literal table definitions matter here."""


def _tagged(loader, _suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


CloudFormationLoader.add_multi_constructor("!", _tagged)


def table_shape(name, keys, attributes, local_indexes):
    return {
        "name": name,
        "keys": sorted((k["AttributeName"], k["KeyType"]) for k in keys),
        "attributes": sorted((a["AttributeName"], a["AttributeType"]) for a in attributes),
        "local_indexes": sorted(
            (i["IndexName"], tuple(sorted((k["AttributeName"], k["KeyType"]) for k in i["KeySchema"])),
             i["Projection"]["ProjectionType"])
            for i in (local_indexes or [])
        ),
    }


def template_tables(path):
    with open(path) as f:
        template = yaml.load(f, Loader=CloudFormationLoader)
    tables = {}
    for logical, resource in template["Resources"].items():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        props = resource["Properties"]
        name = props["TableName"]
        if not name.startswith("${Namespace}"):
            sys.exit(f"{logical}: TableName must be !Sub \"${{Namespace}}...\", not {name!r}")
        name = name[len("${Namespace}"):]
        if props.get("BillingMode") != "PAY_PER_REQUEST":
            sys.exit(f"{logical}: Confab makes on-demand tables")
        tables[name] = table_shape(name, props["KeySchema"], props["AttributeDefinitions"],
                                   props.get("LocalSecondaryIndexes"))
    return tables


def dynamodb(endpoint, operation, body):
    """One DynamoDB JSON call. dynalite checks that a request is signed, not the signature."""
    request = urllib.request.Request(endpoint, data=json.dumps(body).encode(), method="POST", headers={
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": f"DynamoDB_20120810.{operation}",
        "X-Amz-Date": "20261205T000000Z",
        "Authorization": "AWS4-HMAC-SHA256 Credential=confab-test/20261205/us-east-1/dynamodb/aws4_request, "
                         "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=00",
    })
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def setup_tables(binary, endpoint):
    namespace = f"tplcheck{os.getpid()}."
    env = dict(os.environ, CONFAB_LOG=f"kafka://{os.environ['CONFAB_TEST_KAFKA']}", CONFAB_STORE="dynamodb",
               CONFAB_DYNAMODB_ENDPOINT=endpoint, CONFAB_OBJECTS="s3", CONFAB_S3_ENDPOINT=os.environ["CONFAB_TEST_S3"],
               CONFAB_S3_BUCKET=f"confab-tplcheck{os.getpid()}", CONFAB_NAMESPACE=namespace, RUST_LOG="warn")
    subprocess.run([binary, "setup"], env=env, check=True, stdout=subprocess.DEVNULL)
    names, start = [], None
    while True:
        body = {"ExclusiveStartTableName": start} if start else {}
        page = dynamodb(endpoint, "ListTables", body)
        names += page["TableNames"]
        start = page.get("LastEvaluatedTableName")
        if not start:
            break
    tables = {}
    for full in (n for n in names if n.startswith(namespace)):
        table = dynamodb(endpoint, "DescribeTable", {"TableName": full})["Table"]
        name = full[len(namespace):]
        tables[name] = table_shape(name, table["KeySchema"], table["AttributeDefinitions"],
                                   table.get("LocalSecondaryIndexes"))
    return tables


def main():
    template, binary = sys.argv[1], sys.argv[2]
    declared = template_tables(template)
    made = setup_tables(binary, os.environ["CONFAB_TEST_DYNAMODB"])
    problems = []
    for name in sorted(set(made) - set(declared)):
        problems.append(f"confab setup makes {name}, which the template lacks")
    for name in sorted(set(declared) - set(made)):
        problems.append(f"the template declares {name}, which confab does not make")
    for name in sorted(set(made) & set(declared)):
        if made[name] != declared[name]:
            problems.append(f"{name}: confab makes {made[name]}, the template declares {declared[name]}")
    if problems:
        sys.exit("deploy/aws/template.yaml disagrees with confab setup:\n  " + "\n  ".join(problems))
    print(f"deploy/aws/template.yaml declares the {len(made)} tables confab setup makes")


if __name__ == "__main__":
    main()
