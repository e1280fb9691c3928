/**
 * colibri2 errors with JVB's XMPP condition + colibri2 reason pairs (jitsi-videobridge
 * `colibri2/Colibri2Util.kt`, `Colibri2ConferenceHandler.kt`, `Videobridge.java`). Jicofo's
 * failover depends on them (Colibri2Session.sendRequest): `unknown_endpoint` with the endpoint
 * id re-invites only that endpoint; anything else fails the whole bridge session.
 */

/** XMPP stanza error conditions used by colibri2 (RFC 6120 §8.3.3). */
export const STANZA_ERROR_CONDITIONS = [
  'bad-request',
  'conflict',
  'feature-not-implemented',
  'item-not-found',
  'service-unavailable',
  'internal-server-error',
] as const;

/** One of {@link STANZA_ERROR_CONDITIONS}. */
export type StanzaErrorCondition = (typeof STANZA_ERROR_CONDITIONS)[number];

/** `<error xmlns='jitsi:colibri2' reason>` values (Colibri2Error.Reason, lowercased). */
export const COLIBRI2_REASONS = [
  'conference_not_found',
  'conference_already_exists',
  'feature_not_implemented',
  'graceful_shutdown',
  'unknown_endpoint',
  'unspecified',
] as const;

/** One of {@link COLIBRI2_REASONS}. */
export type Colibri2Reason = (typeof COLIBRI2_REASONS)[number];

/** A failed conference-modify: what the XMPP layer turns into `<iq type='error'>`. */
export class Colibri2Error extends Error {
  readonly condition: StanzaErrorCondition;
  readonly reason: Colibri2Reason | undefined;
  /** For `unknown_endpoint`: the `<endpoint xmlns='jitsi:colibri2' id>` child of the error. */
  readonly endpointId: string | undefined;

  constructor(condition: StanzaErrorCondition, text: string, reason?: Colibri2Reason, endpointId?: string) {
    super(text);
    this.name = 'Colibri2Error';
    this.condition = condition;
    this.reason = reason;
    this.endpointId = endpointId;
  }

  /** XMPP error type for the condition (RFC 6120 §8.3.3): `modify` for bad-request, else `cancel`. */
  get errorType(): 'cancel' | 'modify' {
    return this.condition === 'bad-request' ? 'modify' : 'cancel';
  }
}

/** `item-not-found` + `conference_not_found` (createConferenceNotFoundError). */
export const conferenceNotFound = (meetingId: string): Colibri2Error =>
  new Colibri2Error('item-not-found', `Conference not found for ID: ${meetingId}`, 'conference_not_found');

/** `conflict` + `conference_already_exists` (createConferenceAlreadyExistsError). */
export const conferenceAlreadyExists = (meetingId: string): Colibri2Error =>
  new Colibri2Error('conflict', `Conference already exists for ID: ${meetingId}`, 'conference_already_exists');

/** `service-unavailable` + `graceful_shutdown` (createGracefulShutdownErrorResponse). */
export const inGracefulShutdown = (): Colibri2Error => new Colibri2Error('service-unavailable', 'In graceful shutdown', 'graceful_shutdown');

/** `item-not-found` + `unknown_endpoint` + `<endpoint id>` (createEndpointNotFoundError). */
export const endpointNotFound = (endpointId: string): Colibri2Error =>
  new Colibri2Error('item-not-found', `Endpoint not found for ID: ${endpointId}`, 'unknown_endpoint', endpointId);

/** `feature-not-implemented` + `feature_not_implemented` (createFeatureNotImplementedError). */
export const featureNotImplemented = (text: string): Colibri2Error => new Colibri2Error('feature-not-implemented', text, 'feature_not_implemented');

/** `bad-request` without a colibri2 reason (IqProcessingException(Condition.bad_request, ...)). */
export const badRequest = (text: string): Colibri2Error => new Colibri2Error('bad-request', text);
