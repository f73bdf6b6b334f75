// SES notifications (spec/email.md §9.3), read with serde's rules so that a notification the original
// refused is refused here with the same message and position: unknown fields ignored, required fields
// named when missing (in declaration order), wrong types refused, addresses normalised, unknown bounce
// types, subtypes and complaint feedback types mapped to Undetermined / Other.
import { normalizeEmailAddress, stripDisplayName } from "../email-address.ts";
import { customError, invalidValue, SerdeJsonReader, type StructField } from "../serde-json.ts";
import { ChronoParseError, parseChronoTimestamp, type Timestamp } from "./chrono-time.ts";

export const NOTIFICATION_TYPES = ["Bounce", "Complaint", "Delivery"] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

export const BOUNCE_TYPES = ["Undetermined", "Permanent", "Transient"] as const;
export type BounceType = (typeof BOUNCE_TYPES)[number];

/** In the order of their bounce_sub_type codes (1..8, spec/email.md §6.1). */
export const BOUNCE_SUBTYPES = ["Undetermined", "General", "NoEmail", "Suppressed", "MailboxFull", "MessageTooLarge", "ContentRejected", "AttachmentRejected"] as const;
export type BounceSubtype = (typeof BOUNCE_SUBTYPES)[number];

/** In the order of their bounce_sub_type codes (9..14). */
export const COMPLAINT_FEEDBACK_TYPES = ["abuse", "auth-failure", "fraud", "not-spam", "other", "virus"] as const;
export type ComplaintFeedbackType = (typeof COMPLAINT_FEEDBACK_TYPES)[number];

export type HeaderValue = string | string[];

export interface Mail {
  timestamp: Timestamp;
  messageId: string;
  source?: string;
  /** Not validated as addresses (the original did not either). */
  destination?: string[];
  headers?: { name: string; value: HeaderValue }[];
}

export interface Bounce {
  bounceType: BounceType;
  bounceSubType: BounceSubtype;
  /** Normalised addresses, in order. */
  bouncedRecipients: string[];
  timestamp: Timestamp;
  feedbackId: string;
}

export interface Complaint {
  complainedRecipients: string[];
  complaintFeedbackType?: ComplaintFeedbackType;
  timestamp: Timestamp;
  feedbackId: string;
}

export interface Delivery {
  timestamp: Timestamp;
  recipients: string[];
}

export interface SesNotification {
  notificationType: NotificationType;
  mail: Mail;
  bounce?: Bounce;
  complaint?: Complaint;
  delivery?: Delivery;
}

/** What the original logged when it mapped an unrecognised value (spec/email.md §10); reported, not fatal. */
export type MappingNote = (note: string) => void;

const oneOf = <T extends string>(list: readonly T[], value: string): value is T => (list as readonly string[]).includes(value);

// chrono's serde visitor for DateTime.
const DATETIME_EXPECTED = "a formatted date and time string or a unix timestamp";

class NotificationReader {
  constructor(
    readonly reader: SerdeJsonReader,
    private readonly note: MappingNote,
  ) {}

  string = () => this.reader.readString();
  optionalString = () => this.reader.readOption(() => this.reader.readString());

  /** Like chrono's visitor: the parse error is positioned right after the string. */
  timestamp = (): Timestamp => {
    const text = this.reader.readString(DATETIME_EXPECTED);
    try {
      return parseChronoTimestamp(text);
    } catch (error) {
      if (error instanceof ChronoParseError) throw this.reader.fixPosition(customError(error.message));
      throw error;
    }
  };

  /** EmailAddress's Deserialize: a String first, then validated (positioned by the enclosing value). */
  emailAddress = (): string => {
    const raw = this.reader.readString();
    const normalised = normalizeEmailAddress(raw);
    if (normalised === undefined) throw invalidValue({ kind: "string", value: stripDisplayName(raw) }, "email address");
    return normalised;
  };

  notificationType = (): NotificationType => {
    const value = this.reader.readString();
    if (oneOf(NOTIFICATION_TYPES, value)) return value;
    throw invalidValue({ kind: "string", value }, "SES notificiation type"); // sic: the original's typo
  };

  bounceType = (): BounceType => {
    const value = this.reader.readString();
    if (oneOf(BOUNCE_TYPES, value)) return value;
    this.note(`Mapped unrecognised SES bounceType \`${value}\` to BounceType::Undetermined`);
    return "Undetermined";
  };

  bounceSubType = (): BounceSubtype => {
    const value = this.reader.readString();
    if (oneOf(BOUNCE_SUBTYPES, value)) return value;
    this.note(`Mapped unrecognised SES bounceSubType \`${value}\` to BounceSubtype::Undetermined`);
    return "Undetermined";
  };

  complaintFeedbackType = (): ComplaintFeedbackType => {
    const value = this.reader.readString();
    if (oneOf(COMPLAINT_FEEDBACK_TYPES, value)) return value;
    this.note(`Mapped unrecognised SES complaintFeedbackType \`${value}\` to ComplaintFeedbackType::Other`);
    return "other";
  };

  /** An untagged enum of a string or a list of strings: the value is read whole, then matched. */
  headerValue = (): HeaderValue => {
    const r = this.reader;
    if (r.skipWhitespace() === 0x22) return r.readString();
    const start = r.index;
    r.ignoreValue();
    const value: unknown = JSON.parse(new TextDecoder().decode(r.bytes.subarray(start, r.index)));
    if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value as string[];
    throw customError("data did not match any variant of untagged enum HeaderValue");
  };

  struct<T>(name: string, fields: readonly StructField[], build: (values: Map<string, unknown>) => T): T {
    return build(this.reader.readStruct(name, fields));
  }

  header = () =>
    this.struct(
      "Header",
      [
        { name: "name", optional: false, read: this.string },
        { name: "value", optional: false, read: this.headerValue },
      ],
      (v) => ({ name: v.get("name") as string, value: v.get("value") as HeaderValue }),
    );

  mail = (): Mail =>
    this.struct(
      "Mail",
      [
        { name: "timestamp", optional: false, read: this.timestamp },
        { name: "messageId", optional: false, read: this.string },
        { name: "source", optional: true, read: this.optionalString },
        { name: "destination", optional: true, read: () => this.reader.readOption(() => this.reader.readSeq(this.string)) },
        { name: "headers", optional: true, read: () => this.reader.readOption(() => this.reader.readSeq(this.header)) },
      ],
      (v) => {
        const mail: Mail = { timestamp: v.get("timestamp") as Timestamp, messageId: v.get("messageId") as string };
        const source = v.get("source") as string | undefined;
        const destination = v.get("destination") as string[] | undefined;
        const headers = v.get("headers") as Mail["headers"];
        if (source !== undefined) mail.source = source;
        if (destination !== undefined) mail.destination = destination;
        if (headers !== undefined) mail.headers = headers;
        return mail;
      },
    );

  /** `{emailAddress, ...}` recipients: only the normalised address is kept. */
  recipient = (name: string, extra: readonly string[]) => () =>
    this.struct(
      name,
      [{ name: "emailAddress", optional: false, read: this.emailAddress }, ...extra.map((field) => ({ name: field, optional: true, read: this.optionalString }))],
      (v) => v.get("emailAddress") as string,
    );

  bounce = (): Bounce =>
    this.struct(
      "Bounce",
      [
        { name: "bounceType", optional: false, read: this.bounceType },
        { name: "bounceSubType", optional: false, read: this.bounceSubType },
        { name: "bouncedRecipients", optional: false, read: () => this.reader.readSeq(this.recipient("BouncedRecipient", ["action", "status", "diagnosticCode"])) },
        { name: "timestamp", optional: false, read: this.timestamp },
        { name: "feedbackId", optional: false, read: this.string },
      ],
      (v) => ({
        bounceType: v.get("bounceType") as BounceType,
        bounceSubType: v.get("bounceSubType") as BounceSubtype,
        bouncedRecipients: v.get("bouncedRecipients") as string[],
        timestamp: v.get("timestamp") as Timestamp,
        feedbackId: v.get("feedbackId") as string,
      }),
    );

  complaint = (): Complaint =>
    this.struct(
      "Complaint",
      [
        { name: "complainedRecipients", optional: false, read: () => this.reader.readSeq(this.recipient("ComplainedRecipient", [])) },
        { name: "timestamp", optional: false, read: this.timestamp },
        { name: "feedbackId", optional: false, read: this.string },
        { name: "complaintFeedbackType", optional: true, read: () => this.reader.readOption(this.complaintFeedbackType) },
      ],
      (v) => {
        const complaint: Complaint = {
          complainedRecipients: v.get("complainedRecipients") as string[],
          timestamp: v.get("timestamp") as Timestamp,
          feedbackId: v.get("feedbackId") as string,
        };
        const feedbackType = v.get("complaintFeedbackType") as ComplaintFeedbackType | undefined;
        if (feedbackType !== undefined) complaint.complaintFeedbackType = feedbackType;
        return complaint;
      },
    );

  delivery = (): Delivery =>
    this.struct(
      "Delivery",
      [
        { name: "timestamp", optional: false, read: this.timestamp },
        { name: "recipients", optional: false, read: () => this.reader.readSeq(this.emailAddress) },
      ],
      (v) => ({ timestamp: v.get("timestamp") as Timestamp, recipients: v.get("recipients") as string[] }),
    );

  notification = (): SesNotification =>
    this.struct(
      "Notification",
      [
        { name: "notificationType", optional: false, read: this.notificationType },
        { name: "mail", optional: false, read: this.mail },
        { name: "bounce", optional: true, read: () => this.reader.readOption(this.bounce) },
        { name: "complaint", optional: true, read: () => this.reader.readOption(this.complaint) },
        { name: "delivery", optional: true, read: () => this.reader.readOption(this.delivery) },
      ],
      (v) => {
        const n: SesNotification = { notificationType: v.get("notificationType") as NotificationType, mail: v.get("mail") as Mail };
        const bounce = v.get("bounce") as Bounce | undefined;
        const complaint = v.get("complaint") as Complaint | undefined;
        const delivery = v.get("delivery") as Delivery | undefined;
        if (bounce !== undefined) n.bounce = bounce;
        if (complaint !== undefined) n.complaint = complaint;
        if (delivery !== undefined) n.delivery = delivery;
        return n;
      },
    );
}

/**
 * Parses the SNS `Message` text as an SES notification. Throws SerdeError (serde_json's message and
 * position); `note` receives the original's info lines about mapped values.
 */
export function parseSesNotification(bytes: Uint8Array, note: MappingNote = () => {}): SesNotification {
  const reader = new SerdeJsonReader(bytes);
  const notification = new NotificationReader(reader, note).notification();
  reader.end();
  return notification;
}

/** The payload of the notification's own type, or the original's handling error when it is missing. */
export function payloadError(n: SesNotification): string | undefined {
  if (n.notificationType === "Bounce" && !n.bounce) return "missing bounce payload";
  if (n.notificationType === "Complaint" && !n.complaint) return "missing complaint payload";
  // The original forwarded a Delivery without its payload; a notification of a type with nothing about
  // it is refused here like the other two.
  if (n.notificationType === "Delivery" && !n.delivery) return "missing delivery payload";
  return undefined;
}
