import { TaggedResources } from '../../src/policy/rules/TaggedResources';
import { firstResource, moduleJson, stackJson } from './fixtures';

describe('TaggedResources', () => {
  describe('Noncompliance', () => {
    test('fails when a taggable resource has no tags', () => {
      const json = moduleJson();
      delete json.resource.aws_lb.load_balancer.tags;
      expect(TaggedResources(json)).toEqual([
        expect.objectContaining({ rule: 'TaggedResources', address: 'aws_lb.load_balancer', message: expect.stringContaining('no tags') }),
      ]);
    });

    test('fails when the autoscaling group has no tag block', () => {
      const json = moduleJson();
      delete firstResource(json, 'aws_autoscaling_group').dynamic;
      expect(TaggedResources(json)).toEqual([expect.objectContaining({ address: 'aws_autoscaling_group.autoscaling_group' })]);
    });

    test("fails when the autoscaling group's tags do not propagate", () => {
      const json = stackJson();
      firstResource(json, 'aws_autoscaling_group').dynamic.tag.content.propagate_at_launch = false;
      expect(TaggedResources(json)).toEqual([expect.objectContaining({ message: expect.stringContaining('propagate') })]);
    });

    test('fails when the launch template does not tag the volumes', () => {
      const json = moduleJson();
      const template = firstResource(json, 'aws_launch_template');
      template.tag_specifications = template.tag_specifications.filter((spec: any) => spec.resource_type !== 'volume');
      expect(TaggedResources(json)).toEqual([expect.objectContaining({ message: expect.stringContaining('does not tag volume') })]);
    });

    test('fails when a resource type is not classified', () => {
      const json = moduleJson();
      json.resource.aws_sns_topic = { sessions: { name: 'sessions' } };
      expect(TaggedResources(json)).toEqual([
        expect.objectContaining({ address: 'aws_sns_topic.sessions', message: expect.stringContaining('TAGGABLE_TYPES') }),
      ]);
    });
  });

  describe('Compliance', () => {
    test('the registry module', () => {
      expect(TaggedResources(moduleJson())).toEqual([]);
    });

    test('a stack with literal properties', () => {
      expect(TaggedResources(stackJson())).toEqual([]);
    });
  });
});
