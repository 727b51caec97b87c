// postbuild: see markBuilt().
import { markBuilt } from './project';

markBuilt();
