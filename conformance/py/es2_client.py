#!/usr/bin/env python3
"""Independent ES2+ client (GSMA SGP.22 v2.5 section 5.3, JSON binding section 6), Python 3.11 standard library only.

Written from the specification, not from rspd: the operator side of a profile order over mutual TLS.

  ES2+.DownloadOrder (5.3.1)  {header, eid?, iccid?, profileType?}         -> {header, iccid}
  ES2+.ConfirmOrder  (5.3.2)  {header, iccid, eid?, matchingId?, confirmationCode?, smdsAddress?, releaseFlag}
                                                                          -> {header, eid?, matchingId?, smdpAddress?}

Every request carries the ES2+ header (functionRequesterIdentifier, functionCallIdentifier); every response
carries header.functionExecutionStatus.status, "Executed-Success" or "Failed" with statusCodeData
{subjectCode, reasonCode, message}. HTTP is POST https://<host>/gsma/rsp2/es2plus/<function> with
Content-Type application/json and X-Admin-Protocol gsma/rsp/v2.5.0.

On success prints the activation code (SGP.22 4.1) "LPA:1$<SM-DP+ address>$<matchingId>" and exits 0;
on failure prints the status to stderr and exits 1.
"""

import argparse
import http.client
import json
import ssl
import sys
import uuid

ADMIN_PROTOCOL = "gsma/rsp/v2.5.0"


class Es2Failure(Exception):
    pass


class Es2Client:
    def __init__(self, host, port, ca_file, cert_file, key_file, requester):
        self.host = host
        self.port = port
        self.requester = requester
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_verify_locations(cafile=ca_file)
        context.load_cert_chain(certfile=cert_file, keyfile=key_file)
        self.context = context

    def call(self, function, fields):
        body = dict(fields)
        body["header"] = {
            "functionRequesterIdentifier": self.requester,
            "functionCallIdentifier": str(uuid.uuid4()),
        }
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=30)
        try:
            conn.request(
                "POST",
                "/gsma/rsp2/es2plus/" + function,
                body=json.dumps(body).encode("utf-8"),
                headers={"Content-Type": "application/json", "X-Admin-Protocol": ADMIN_PROTOCOL},
            )
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        if response.status != 200:
            raise Es2Failure(f"{function}: HTTP {response.status}")
        answer = json.loads(data)
        status = answer.get("header", {}).get("functionExecutionStatus", {})
        if status.get("status") != "Executed-Success":
            code = status.get("statusCodeData", {})
            raise Es2Failure(
                f"{function}: {status.get('status')} {code.get('subjectCode')}/{code.get('reasonCode')}: "
                f"{code.get('message')}"
            )
        return answer

    def download_order(self, eid=None, iccid=None, profile_type=None):
        fields = {}
        if eid:
            fields["eid"] = eid
        if iccid:
            fields["iccid"] = iccid
        if profile_type:
            fields["profileType"] = profile_type
        return self.call("downloadOrder", fields)["iccid"]

    def confirm_order(self, iccid, eid=None, matching_id=None, confirmation_code=None, release=True):
        fields = {"iccid": iccid, "releaseFlag": bool(release)}
        if eid:
            fields["eid"] = eid
        if matching_id:
            fields["matchingId"] = matching_id
        if confirmation_code:
            fields["confirmationCode"] = confirmation_code
        return self.call("confirmOrder", fields)


def main():
    p = argparse.ArgumentParser(description="ES2+ DownloadOrder + ConfirmOrder; prints the activation code")
    p.add_argument("--host", default="localhost")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ca", required=True, help="PEM trust anchor of the SM-DP+ TLS certificate")
    p.add_argument("--cert", required=True, help="PEM operator client certificate")
    p.add_argument("--key", required=True, help="PEM private key of the client certificate")
    p.add_argument("--requester", default="es2-client.py")
    p.add_argument("--iccid")
    p.add_argument("--profile-type")
    p.add_argument("--eid")
    p.add_argument("--matching-id")
    p.add_argument("--confirmation-code")
    p.add_argument("--no-release", action="store_true", help="confirm without releaseFlag")
    args = p.parse_args()
    if not args.iccid and not args.profile_type:
        p.error("give --iccid or --profile-type")

    client = Es2Client(args.host, args.port, args.ca, args.cert, args.key, args.requester)
    try:
        iccid = client.download_order(eid=args.eid, iccid=args.iccid, profile_type=args.profile_type)
        confirmed = client.confirm_order(
            iccid,
            eid=args.eid,
            matching_id=args.matching_id,
            confirmation_code=args.confirmation_code,
            release=not args.no_release,
        )
    except (Es2Failure, OSError, ValueError, KeyError) as e:
        print(f"es2_client: {e}", file=sys.stderr)
        return 1
    matching_id = confirmed.get("matchingId") or args.matching_id
    address = confirmed.get("smdpAddress")
    if not matching_id or not address:
        print(f"es2_client: ConfirmOrder answered without matchingId/smdpAddress: {confirmed}", file=sys.stderr)
        return 1
    print(f"iccid {iccid}", file=sys.stderr)
    print(f"LPA:1${address}${matching_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
