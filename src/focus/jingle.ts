/**
 * Jicofo's two conversions between colibri2 and Jingle, for the embedded focus:
 * - {@link buildSessionInitiate}: the offer from the bridge's conference-modified
 *   (jicofo `ParticipantInviteRunnable.updateOffer`, `JingleOfferFactory.createOffer`): contents
 *   audio/video/data with `senders='both'`, each with a copy of the bridge transport
 *   (`cloneTransportAndCandidates`), `<rtcp-mux/>` everywhere, the data content's `<sctpmap>`,
 *   a BUNDLE group, and the bridge's feedback sources, owned by `jvb` with msid
 *   `mixedmslabel mixedlabel<type>0` (`Extensions.kt parseSources`); without SSRC rewriting, also
 *   the other participants' sources (`Participant.resetSignaledSources`), see {@link remoteSourcesToJingle}.
 * - {@link sessionAcceptToColibri2}: the endpoint update Jicofo sends on `session-accept`
 *   (`Colibri2Session.updateParticipant`): the client's transport and its full sources.
 */
import type { ConferenceModifiedResponse, EndpointModify, Media, MediaSource, MediaType } from '../colibri2/types.ts';
import type { JingleContent, JingleSession, JingleSource, JingleSourcesContent, JingleTransport } from './protocol.ts';

/**
 * @param allocation the bridge's answer for this endpoint (its `<transport>` and the feedback sources)
 * @param endpointId the endpoint created
 * @param media the `<media>` offered (focus/codecs.ts)
 * @param remote the other participants' sources, for a participant without SSRC rewriting ({@link remoteSourcesToJingle})
 * @throws Error when the answer has no transport for the endpoint (a bridge bug).
 */
export function buildSessionInitiate(
  allocation: ConferenceModifiedResponse,
  endpointId: string,
  media: readonly Media[],
  remote: readonly JingleSourcesContent[] = [],
): JingleSession {
  const ep = allocation.endpoints.find((e) => e.id === endpointId);
  if (!ep?.transport) throw new Error(`conference-modified has no transport for endpoint ${endpointId}`);
  const t = ep.transport;
  const transport = (): JingleTransport => ({
    ufrag: t.ice.ufrag,
    pwd: t.ice.pwd,
    candidates: structuredClone(t.ice.candidates),
    fingerprints: t.ice.fingerprints.filter((f) => f.hash === 'sha-256').map((f) => ({ ...f, setup: 'actpass' as const })),
    rtcpMux: true,
    ...(t.ice.webSockets?.length ? { webSockets: [...t.ice.webSockets] } : {}),
  });
  const feedback = (type: MediaType): JingleSource[] =>
    (allocation.sources ?? [])
      .filter((s) => s.type === type)
      .flatMap((s) => s.sources.map((src) => ({ ssrc: src.ssrc, name: s.id, owner: 'jvb', msid: `mixedmslabel mixedlabel${type}0` })));
  const contents: JingleContent[] = media.map((m) => ({
    name: m.type,
    creator: 'initiator',
    senders: 'both',
    description: {
      media: m.type,
      payloadTypes: structuredClone(m.payloadTypes),
      rtpHdrExts: structuredClone(m.rtpHdrExts),
      ...(m.extmapAllowMixed ? { extmapAllowMixed: true } : {}),
      rtcpMux: true,
      sources: [...feedback(m.type), ...remote.filter((r) => r.media === m.type).flatMap((r) => structuredClone(r.sources))],
      ssrcGroups: remote.filter((r) => r.media === m.type).flatMap((r) => structuredClone(r.ssrcGroups)),
    },
    transport: transport(),
  }));
  if (t.sctp) {
    contents.push({
      name: 'data',
      creator: 'initiator',
      senders: 'both',
      description: { media: 'application', payloadTypes: [], rtpHdrExts: [], rtcpMux: true, sources: [], ssrcGroups: [] },
      transport: { ...transport(), sctpmap: { number: t.sctp.port, protocol: 'webrtc-datachannel', streams: 1024 } },
    });
  }
  return { contents, groups: [{ semantics: 'BUNDLE', contents: contents.map((c) => c.name) }] };
}

/**
 * The client's sources, grouped by source name into colibri2 `<media-source>`s. Sources without
 * a name get `<endpointId>-a0` / `-v0` (Jicofo `Source.nameForIdAndMediaType`); groups go with
 * the source whose SSRCs they name.
 */
export function jingleSources(jingle: JingleSession, endpointId: string): MediaSource[] {
  const out = new Map<string, MediaSource>();
  for (const c of jingle.contents) {
    const type = c.description.media;
    if (type !== 'audio' && type !== 'video') continue;
    for (const s of c.description.sources) {
      const name = s.name ?? `${endpointId}-${type === 'audio' ? 'a' : 'v'}0`;
      let ms = out.get(name);
      if (!ms) {
        ms = { type, id: name, sources: [], ssrcGroups: [] };
        out.set(name, ms);
      }
      if (!ms.sources.some((x) => x.ssrc === s.ssrc)) {
        ms.sources.push({
          ssrc: s.ssrc,
          name,
          ...(s.videoType ? { videoType: s.videoType } : {}),
          ...(s.msid ? { msid: s.msid } : {}),
        });
      }
    }
    for (const g of c.description.ssrcGroups) {
      const owner = [...out.values()].find((ms) => ms.type === type && g.ssrcs.every((x) => ms.sources.some((s) => s.ssrc === x)));
      if (owner && !owner.ssrcGroups.some((x) => x.semantics === g.semantics && x.ssrcs.join() === g.ssrcs.join())) {
        owner.ssrcGroups.push({ semantics: g.semantics, ssrcs: [...g.ssrcs] });
      }
    }
  }
  return [...out.values()];
}

/** The colibri2 endpoint update for a `session-accept` (transport + full sources). */
export function sessionAcceptToColibri2(jingle: JingleSession, endpointId: string): EndpointModify {
  const withTransport = jingle.contents.find((c) => c.transport.fingerprints.length > 0) ?? jingle.contents[0];
  const t = withTransport?.transport;
  return {
    id: endpointId,
    ...(t
      ? {
          transport: {
            ice: { ufrag: t.ufrag, pwd: t.pwd, candidates: t.candidates, fingerprints: t.fingerprints, rtcpMux: true },
          },
        }
      : {}),
    sources: jingleSources(jingle, endpointId),
  };
}

/**
 * A source as Jicofo signals it to receivers with `strip-simulcast` (its default): the first SSRC of the SIM group
 * (the lowest layer) and that SSRC's FID partner, without the SIM group (jicofo `EndpointSourceSet.stripSimulcast`).
 * A source without a SIM group is unchanged.
 */
export function stripSimulcast(source: MediaSource): MediaSource {
  const sim = source.ssrcGroups.find((g) => g.semantics === 'SIM');
  const first = sim?.ssrcs[0];
  if (first === undefined) return structuredClone(source);
  const fid = source.ssrcGroups.find((g) => g.semantics === 'FID' && g.ssrcs[0] === first);
  const keep = new Set([first, ...(fid ? fid.ssrcs : [])]);
  return {
    ...structuredClone(source),
    sources: source.sources.filter((s) => keep.has(s.ssrc)).map((s) => ({ ...s })),
    ssrcGroups: fid ? [{ semantics: 'FID', ssrcs: [...fid.ssrcs] }] : [],
  };
}

/**
 * Participants' sources as the contents of a Jingle `source-add` / `source-remove` or of an offer (jicofo
 * `ConferenceSourceMap.toJingle`): per media type, each SSRC with its source name, `owner` (the endpoint id, what
 * lib-jitsi-meet reads from `<ssrc-info owner>`), msid and video type, and the groups; simulcast stripped.
 * @param owners sources by owning endpoint id
 */
export function remoteSourcesToJingle(owners: ReadonlyMap<string, readonly MediaSource[]>): JingleSourcesContent[] {
  const out: JingleSourcesContent[] = [];
  for (const media of ['audio', 'video'] as const) {
    const content: JingleSourcesContent = { media, sources: [], ssrcGroups: [] };
    for (const [owner, sources] of owners) {
      for (const source of sources.filter((s) => s.type === media).map(stripSimulcast)) {
        content.sources.push(...source.sources.map((s) => ({ ...s, name: source.id, owner })));
        content.ssrcGroups.push(...source.ssrcGroups);
      }
    }
    if (content.sources.length > 0) out.push(content);
  }
  return out;
}
