// Registers the cdktf jest matchers (toHaveResource, toHaveResourceWithProperties, ...).
require('cdktf').Testing.setupJest();
