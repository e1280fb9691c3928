/**
 * A conference's speech activity: endpoints ordered by when they last were the dominant speaker,
 * and the recent-speakers list for `DominantSpeakerEndpointChangeEvent`.
 *
 * Follows jitsi-videobridge `ConferenceSpeechActivity.java`: a new dominant speaker moves to the
 * top of the list and is promoted in the recent speakers (at most `recent-speakers-count` + 1,
 * the dominant one first); joining endpoints go to the end; for last-N, endpoints sending video
 * come before those that do not. The dominant-speaker detection itself is the media layer's
 * (mediasoup ActiveSpeakerObserver: the same Volfin-Cohen algorithm as JVB's
 * DominantSpeakerIdentification).
 */

/** See the module docstring. */
export class SpeechActivity {
  readonly #recentLimit: number;
  /** Endpoint ids, most recent dominant speaker first, then in join order. */
  #bySpeech: string[] = [];
  /** Most recent first; index 0 is the dominant speaker. */
  #recent: string[] = [];
  #version = 0;

  /** @param recentSpeakersCount `videobridge.speech-activity.recent-speakers-count` (10). */
  constructor(recentSpeakersCount = 10) {
    this.#recentLimit = recentSpeakersCount + 1;
  }

  /** The dominant speaker, if any has been detected. */
  get dominant(): string | undefined {
    return this.#recent[0];
  }

  /** The dominant speaker first, then the previous ones (JVB `getRecentSpeakers`). */
  get recentSpeakers(): readonly string[] {
    return this.#recent;
  }

  /** Endpoints by speech activity (no video-availability ordering). */
  get bySpeech(): readonly string[] {
    return this.#bySpeech;
  }

  /** Changes whenever {@link bySpeech} does (to keep what is derived from it). */
  get version(): number {
    return this.#version;
  }

  /** An endpoint joined (goes to the end). @returns false when already known. */
  add(id: string): boolean {
    if (this.#bySpeech.includes(id)) return false;
    this.#bySpeech.push(id);
    this.#version++;
    return true;
  }

  /** An endpoint left. @returns whether the recent speakers changed. */
  remove(id: string): boolean {
    this.#bySpeech = this.#bySpeech.filter((e) => e !== id);
    this.#version++;
    const before = this.#recent.length;
    this.#recent = this.#recent.filter((e) => e !== id);
    return this.#recent.length !== before;
  }

  /**
   * `id` is the new dominant speaker.
   * @returns false (nothing changes) for an unknown endpoint or the current dominant speaker.
   */
  dominantSpeakerChanged(id: string): boolean {
    if (!this.#bySpeech.includes(id) || this.#recent[0] === id) return false;
    this.#bySpeech = [id, ...this.#bySpeech.filter((e) => e !== id)];
    this.#version++;
    this.#recent = [id, ...this.#recent.filter((e) => e !== id)].slice(0, this.#recentLimit);
    return true;
  }

  /**
   * Endpoints in last-N order: by speech activity, those sending video first (JVB
   * `updateLastNEndpoints`).
   */
  lastNOrder(sendsVideo: (id: string) => boolean): string[] {
    const withVideo: string[] = [];
    const without: string[] = [];
    for (const id of this.#bySpeech) (sendsVideo(id) ? withVideo : without).push(id);
    return [...withVideo, ...without];
  }
}
