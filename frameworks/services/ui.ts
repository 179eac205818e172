/** The services framework's web UI files (`ui/`), served under /ui/. */
import { uiFiles } from '../shared/ui-files';

export const uiFile = uiFiles('services');
