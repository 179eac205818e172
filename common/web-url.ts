/**
 * Whether `text` is an http or https URL: the only kind a framework may name as its web UI
 * (FrameworkInfo.webui_url). The master's UI makes it a link, and a `javascript:` URL must
 * never become one.
 */
export function isWebUrl(text: string): boolean {
  try {
    const { protocol } = new URL(text);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}
