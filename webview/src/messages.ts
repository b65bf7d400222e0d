/** The panel's own messages now live with the rest of the host ↔ webview protocol (src/shared/messages.ts). */
export type { PanelAction } from '../../src/shared/messages';
