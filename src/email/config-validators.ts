// The original's configuration validators (spec/email.md §8.2, tests §12.14), one predicate each.
import { isValidEmailAddress } from "./email-address.ts";

// Real AWS regions (the original accepted rusoto's 2019 list; newer regions are accepted too). Like
// rusoto, case and dashes do not matter: "US-EAST-1" and "useast1" are us-east-1.
const AWS_REGIONS = [
  "us-east-1", "us-east-2", "us-west-1", "us-west-2", "us-gov-east-1", "us-gov-west-1",
  "af-south-1", "ap-east-1", "ap-east-2", "ap-south-1", "ap-south-2", "ap-northeast-1", "ap-northeast-2",
  "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
  "ap-southeast-7", "ca-central-1", "ca-west-1", "cn-north-1", "cn-northwest-1", "eu-central-1", "eu-central-2",
  "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1",
  "me-central-1", "me-south-1", "mx-central-1", "sa-east-1",
];
const REGION_BY_KEY = new Map(AWS_REGIONS.map((r) => [r.replaceAll("-", ""), r]));

/** The canonical region name, or undefined. */
export function awsRegion(value: string): string | undefined {
  if (!/^[A-Za-z0-9-]+$/.test(value)) return undefined;
  return REGION_BY_KEY.get(value.toLowerCase().replaceAll("-", ""));
}

export const awsAccessKey = (value: string) => /^[A-Z0-9]+$/.test(value);
export const awsSecretKey = (value: string) => /^[A-Za-z0-9+/=]+$/.test(value);
/** http(s), a host, an optional port, a path ending in `/`, no query or fragment. */
export const baseUri = (value: string) => /^https?:\/\/[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::[0-9]+)?\/(?:[A-Za-z0-9-]+\/)*$/.test(value);
export const emailAddress = (value: string) => isValidEmailAddress(value);
/** A host name or IPv4 address: no scheme, no port, no spaces. */
export const host = (value: string) => /^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*$/.test(value);
export const senderName = (value: string) => /^[A-Za-z0-9-]+(?: [A-Za-z0-9-]+)*$/.test(value);
export const sendgridApiKey = (value: string) => /^[A-Za-z0-9._-]+$/.test(value);
export const sqsUrl = (value: string) => /^https:\/\/sqs\.[a-z0-9-]+\.amazonaws\.com\/[0-9]+\/[A-Za-z0-9-]+$/.test(value);
